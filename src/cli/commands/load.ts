/** `wharf load FILE [HOST]`: docker load from a .tar/.tar.gz into the local engine or an SSH host. */
import { loadImageFromFile, type LoadResult } from '../../engines/transfer/file';
import { UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';
import { ENGINE_FLAGS, withEngine } from './engineFlags';
import { withSshHost } from './sshHostFlags';

export const load: CliCommand = {
  name: 'load',
  summary: 'load a .tar or .tar.gz image archive into the engine or an SSH host',
  usage: 'wharf load FILE [HOST] [--compress] [--json] [--accept-new-host-key] [--ssh-config FILE] [--host URL | --context NAME]',
  valueFlags: ENGINE_FLAGS,
  async run(args: ParsedArgs) {
    const [file, host, extra] = args.positionals;
    if (!file || extra) throw new UsageError('expected FILE and an optional HOST');
    let result: LoadResult;
    if (host) {
      result = await withSshHost(args, host, (ssh, signal) => loadImageFromFile({ file, ssh: ssh.client, host: ssh.name, compress: args.flags.has('compress'), signal, progress: stderrProgress() }));
    } else {
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      try {
        result = await withEngine(args, (docker) => loadImageFromFile({ file, docker, signal: controller.signal, progress: stderrProgress() }));
      } finally {
        process.removeListener('SIGINT', onSignal);
      }
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (args.flags.has('json')) printJson(result);
    else printTable(result.loaded.map((image) => ({ loaded: image, into: result.where })), ['loaded', 'into']);
    return 0;
  },
};
