/**
 * The `wharf` CLI: the same engines as the extension, for pipelines. Exit codes: 0 done, 1 failed,
 * 2 bad usage. Errors are one line on stderr naming the object, the cause and the way out.
 */
import { messageOf } from '../engines/core/errors';
import { parseArgs, UsageError } from './args';
import type { CliCommand } from './command';

/**
 * Commands load on first use: a pipeline step that runs `wharf promote` should not pay for
 * parsing etcd's protobufs or loading dockerode. Help is the one place that loads them all.
 */
const commands: Record<string, () => Promise<CliCommand>> = {
  doctor: async () => (await import('./commands/doctor')).doctor,
  etcd: async () => (await import('./commands/etcd')).etcd,
  promote: async () => (await import('./commands/promote')).promoteCommand,
  registry: async () => (await import('./commands/registry')).registry,
  images: async () => (await import('./commands/images')).images,
  containers: async () => (await import('./commands/containers')).containers,
  send: async () => (await import('./commands/send')).send,
  save: async () => (await import('./commands/save')).save,
  load: async () => (await import('./commands/load')).load,
  export: async () => (await import('./commands/export')).exportCommand,
  switchover: async () => (await import('./commands/switchover')).switchover,
  confd: async () => (await import('./commands/confd')).confd,
  sync: async () => (await import('./commands/sync')).sync,
  pool: async () => (await import('./commands/sync')).pool,
  layers: async () => (await import('./commands/layers')).layers,
  build: async () => (await import('./commands/build')).build,
  cache: async () => (await import('./commands/cache')).cache,
};

declare const WHARF_VERSION: string | undefined;

async function help(): Promise<string> {
  const all = await Promise.all(Object.values(commands).map((load) => load()));
  const lines = all.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`);
  return ['usage: wharf <command> [args] [flags]', '', 'commands:', ...lines, '', 'Run `wharf <command> --help` for its flags.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${typeof WHARF_VERSION === 'string' ? WHARF_VERSION : 'dev'}\n`);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    process.stderr.write(`wharf: unknown command "${name}". Run \`wharf --help\` for the list.\n`);
    return 2;
  }
  const command = await load();
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
