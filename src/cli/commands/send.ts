/** `wharf send IMAGE HOST`: docker save | ssh HOST docker load, sending only the layers the host lacks. */
import { sendImage } from '../../engines/transfer/send';
import { formatBytes } from '../../engines/transfer/pump';
import { UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';
import { ENGINE_FLAGS, withEngine } from './engineFlags';
import { withSshHost } from './sshHostFlags';

export const send: CliCommand = {
  name: 'send',
  summary: 'send an image to an SSH host (only the layers it lacks) with no registry',
  usage: 'wharf send IMAGE HOST [--compress] [--full] [--json] [--accept-new-host-key] [--ssh-config FILE] [--host URL | --context NAME]\n  HOST: an alias from the ssh config or ssh://user@host:port',
  valueFlags: ENGINE_FLAGS,
  async run(args: ParsedArgs) {
    const [image, host, extra] = args.positionals;
    if (!image || !host || extra) throw new UsageError('expected IMAGE and HOST');
    const result = await withEngine(args, (docker) =>
      withSshHost(args, host, (ssh, signal) =>
        sendImage({ docker, ssh: ssh.client, host: ssh.name, image, compress: args.flags.has('compress'), full: args.flags.has('full'), signal, progress: stderrProgress() }),
      ),
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (args.flags.has('json')) printJson(result);
    else {
      printTable(
        [{
          image: result.image,
          host: result.host,
          id: result.imageId.replace(/^sha256:/, '').slice(0, 12),
          layers: `${result.layers - result.layersSkipped} sent, ${result.layersSkipped} already there`,
          wire: result.alreadyPresent ? 'nothing (already there)' : formatBytes(result.wireBytes),
          seconds: result.seconds.toFixed(1),
        }],
        ['image', 'host', 'id', 'layers', 'wire', 'seconds'],
      );
    }
    return 0;
  },
};
