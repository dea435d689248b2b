/** `wharf sync IMAGE HOST` and `wharf pool ls|gc`: flags to the dedup engine, nothing more. */
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { Pool, defaultPoolDir, formatBytes } from '../../engines/dedup/pool';
import { syncImage, type SyncFigures } from '../../engines/dedup/sync';
import { UsageError, stringFlag, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';

export const sync: CliCommand = {
  name: 'sync',
  summary: 'send an image to an SSH host through a deduplicating chunk pool (only missing chunks travel)',
  usage: 'wharf sync IMAGE HOST [--pool DIR] [--remote-pool DIR] [--verify] [--host URL | --context NAME] [--ssh-config FILE] [--json]',
  valueFlags: ['pool', 'remote-pool', 'host', 'context', 'ssh-config'],
  async run(args: ParsedArgs) {
    const [image, host, ...extra] = args.positionals;
    if (!image || !host || extra.length) throw new UsageError('give IMAGE and HOST (an ssh_config alias or ssh://user@host:port)');
    const endpoint = await resolveEndpoint({ host: stringFlag(args, 'host'), context: stringFlag(args, 'context') });
    const docker = await connectEngine(endpoint);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      const figures = await syncImage(image, {
        docker,
        host,
        poolDir: stringFlag(args, 'pool') ?? defaultPoolDir(),
        sshConfigFile: stringFlag(args, 'ssh-config'),
        remote: { dir: stringFlag(args, 'remote-pool') },
        verifyAll: args.flags.has('verify'),
        signal: controller.signal,
        progress: stderrProgress(),
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (args.flags.has('json')) printJson(figures);
      else printTable(figureRows(figures), ['figure', 'value']);
      return 0;
    } finally {
      process.off('SIGINT', stop);
      closeEngine(docker);
    }
  },
};

export function figureRows(f: SyncFigures): { figure: string; value: string }[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    { figure: 'image', value: `${f.image} (${f.imageId.slice(7, 19)})` },
    { figure: 'host', value: f.upToDate ? `${f.host} (already had it)` : f.host },
    { figure: 'chunks total', value: String(f.chunksTotal) },
    { figure: 'already there', value: String(f.chunksPresent) },
    { figure: 'sent', value: f.repaired ? `${f.chunksSent} (${f.repaired} repaired)` : String(f.chunksSent) },
    { figure: 'bytes on the wire', value: formatBytes(f.wireBytes) },
    { figure: 'save | gzip', value: `${formatBytes(f.saveGzipBytes)} (wire = ${pct(f.wireVsGzip)})` },
    { figure: 'dedup ratio', value: pct(f.dedupRatio) },
    { figure: 'rate', value: `${formatBytes(f.bytesPerSecond)}/s` },
    { figure: 'time', value: `${(f.elapsedMs / 1000).toFixed(1)} s` },
    { figure: 'image id verified', value: f.verified ? 'yes' : 'no' },
  ];
}

export const pool: CliCommand = {
  name: 'pool',
  summary: 'list the dedup pool (ls) or free space in it (gc)',
  usage: 'wharf pool ls|gc [--remove IMAGE[,IMAGE...]] [--keep N] [--pool DIR] [--on HOST [--remote-pool DIR] [--ssh-config FILE]] [--json]',
  valueFlags: ['pool', 'remove', 'keep', 'on', 'remote-pool', 'ssh-config'],
  async run(args: ParsedArgs) {
    const [verb, ...extra] = args.positionals;
    if ((verb !== 'ls' && verb !== 'gc') || extra.length) throw new UsageError('say ls or gc');
    const opened = await Pool.open(stringFlag(args, 'pool') ?? defaultPoolDir());
    if (verb === 'ls') {
      const recipes = await opened.listRecipes();
      const usage = await opened.usage();
      if (args.flags.has('json')) printJson({ dir: opened.dir, ...usage, images: recipes.map(({ chunks: _c, sizes: _s, gzSizes: _g, ...rest }) => ({ ...rest, chunks: _c.length })) });
      else {
        printTable(
          recipes.map((r) => ({ id: r.imageId.slice(7, 19), tags: r.tags.join(',') || '<none>', size: formatBytes(r.totalSize), gzip: formatBytes(r.gzipSize), chunks: r.chunks.length, saved: r.createdAt })),
          ['id', 'tags', 'size', 'gzip', 'chunks', 'saved'],
        );
        process.stdout.write(`${opened.dir}: ${usage.recipes} images, ${usage.chunks} chunks, ${formatBytes(usage.bytes)}\n`);
      }
      return 0;
    }
    const keepText = stringFlag(args, 'keep');
    const keep = keepText === undefined ? undefined : Number(keepText);
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0)) throw new UsageError('--keep needs a whole number');
    const on = stringFlag(args, 'on');
    if (on !== undefined) {
      const { gcHostPool } = await import('../../engines/dedup/hostGc');
      const result = await gcHostPool({
        poolDir: opened.dir,
        host: on,
        sshConfigFile: stringFlag(args, 'ssh-config'),
        remote: { dir: stringFlag(args, 'remote-pool') },
        remove: stringFlag(args, 'remove')?.split(',').filter(Boolean),
        keep,
        progress: stderrProgress(),
      });
      if (args.flags.has('json')) printJson(result);
      else process.stdout.write(`${on}: dropped ${result.plansDropped.length} images; freed ${result.segmentsFreed} segments; ${result.plansKept.length} images kept\n`);
      return 0;
    }
    const result = await opened.gc({ remove: stringFlag(args, 'remove')?.split(',').filter(Boolean), keep });
    if (args.flags.has('json')) printJson(result);
    else process.stdout.write(`removed ${result.recipesRemoved.length} images; freed ${result.chunksRemoved} chunks (${formatBytes(result.bytesFreed)}); ${result.chunksKept} chunks kept\n`);
    return 0;
  },
};
