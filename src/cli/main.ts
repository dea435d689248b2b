/**
 * The `wharf` CLI: the same engines as the extension, for pipelines. Exit codes: 0 done, 1 failed,
 * 2 bad usage. Errors are one line on stderr naming the object, the cause and the way out.
 */
import { messageOf } from '../engines/core/errors';
import { parseArgs, UsageError } from './args';
import type { CliCommand } from './command';
import { containers } from './commands/containers';
import { doctor } from './commands/doctor';
import { etcd } from './commands/etcd';
import { images } from './commands/images';
import { layers } from './commands/layers';
import { build } from './commands/build';
import { cache } from './commands/cache';
import { promoteCommand } from './commands/promote';
import { registry } from './commands/registry';
import { exportCommand } from './commands/export';
import { load } from './commands/load';
import { save } from './commands/save';
import { send } from './commands/send';
import { switchover } from './commands/switchover';
import { confd } from './commands/confd';
import { pool, sync } from './commands/sync';

declare const WHARF_VERSION: string | undefined;

const commands: CliCommand[] = [doctor, etcd, promoteCommand, registry, images, containers, send, save, load, exportCommand, switchover, confd, sync, pool, layers, build, cache];

function help(): string {
  const lines = commands.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`);
  return ['usage: wharf <command> [args] [flags]', '', 'commands:', ...lines, '', 'Run `wharf <command> --help` for its flags.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${typeof WHARF_VERSION === 'string' ? WHARF_VERSION : 'dev'}\n`);
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`wharf: unknown command "${name}". Run \`wharf --help\` for the list.\n`);
    return 2;
  }
  try {
    const args = parseArgs(rest, new Set(command.valueFlags));
    if (args.flags.has('help')) {
      process.stdout.write(`usage: ${command.usage}\n`);
      return 0;
    }
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`wharf ${name}: ${error.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`wharf ${name}: ${messageOf(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`wharf: ${messageOf(error)}\n`);
      process.exit(1);
    },
  );
}
