/** `wharf save IMAGE FILE`: docker save to a .tar or .tar.gz, never leaving a partial file. */
import { saveImageToFile } from '../../engines/transfer/file';
import { formatBytes } from '../../engines/transfer/pump';
import { UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';
import { ENGINE_FLAGS, withEngine } from './engineFlags';

export const save: CliCommand = {
  name: 'save',
  summary: 'save an image to a .tar or .tar.gz file',
  usage: 'wharf save IMAGE FILE [--json] [--host URL | --context NAME]',
  valueFlags: ENGINE_FLAGS,
  async run(args: ParsedArgs) {
    const [image, file, extra] = args.positionals;
    if (!image || !file || extra) throw new UsageError('expected IMAGE and FILE');
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    try {
      const result = await withEngine(args, (docker) => saveImageToFile({ docker, image, file, signal: controller.signal, progress: stderrProgress() }));
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (args.flags.has('json')) printJson(result);
      else printTable([{ image: result.image, file: result.file, size: formatBytes(result.bytes), gzip: result.gzip ? 'yes' : 'no' }], ['image', 'file', 'size', 'gzip']);
      return 0;
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
  },
};
