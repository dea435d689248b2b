/** `wharf export CONTAINER IMAGE [HOST]`: docker export | docker import, flattened, locally or on a host. */
import { EXPORT_WARNING, exportImport, type ExportImportResult } from '../../engines/transfer/exportImport';
import { UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';
import { ENGINE_FLAGS, withEngine } from './engineFlags';
import { withSshHost } from './sshHostFlags';

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'export a container and import it as a flattened image, locally or on an SSH host',
  usage: 'wharf export CONTAINER IMAGE [HOST] [--compress] [--json] [--accept-new-host-key] [--ssh-config FILE] [--host URL | --context NAME]',
  valueFlags: ENGINE_FLAGS,
  async run(args: ParsedArgs) {
    const [container, ref, host, extra] = args.positionals;
    if (!container || !ref || extra) throw new UsageError('expected CONTAINER, IMAGE and an optional HOST');
    process.stderr.write(`wharf export: ${EXPORT_WARNING}\n`);
    const result: ExportImportResult = await withEngine(args, (docker) =>
      host
        ? withSshHost(args, host, (ssh, signal) => exportImport({ docker, container, ref, ssh: ssh.client, host: ssh.name, compress: args.flags.has('compress'), signal, progress: stderrProgress() }))
        : exportImport({ docker, container, ref, progress: stderrProgress() }),
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (args.flags.has('json')) printJson(result);
    else printTable([{ container: result.container, image: result.ref, id: result.imageId.replace(/^sha256:/, '').slice(0, 12), into: result.where }], ['container', 'image', 'id', 'into']);
    return 0;
  },
};
