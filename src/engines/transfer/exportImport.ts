/**
 * Export a container's filesystem (`docker export`) and import it as a one-layer image (`docker
 * import`), locally or on an SSH host. The result is flattened: history, layers, CMD/ENV and the
 * rest of the config are lost.
 *
 * Why offer it (the book's warning): a file deleted in an upper layer still sits in the lower
 * layers of a saved image, so a secret once added and then removed ships with `docker save`. An
 * export holds only what the container's filesystem shows now, so the deleted secret is gone.
 */
import type Docker from 'dockerode';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { Client } from 'ssh2';
import { WharfError, isWharfError, messageOf, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { isGzipName, readJsonMessages } from './file';
import { Meter, pumpToRemote, throttledProgress } from './pump';
import { remoteDockerError } from './remoteDocker';
import { TarFilter } from './tarStream';

export const EXPORT_WARNING =
  'The image is flattened: one layer, no history, no CMD/ENV/ports. Unlike docker save, files deleted in upper layers (secrets too) do not come along.';

export interface ExportImportOptions extends WorkOptions {
  docker: Docker;
  container: string;
  /** The new image's reference, e.g. app/flat:1. */
  ref: string;
  /** Import on this SSH host instead of the local engine. */
  ssh?: Client;
  host?: string;
  compress?: boolean;
  message?: string;
}

export interface ExportImportResult {
  container: string;
  ref: string;
  imageId: string;
  where: string;
  bytes: number;
}

export async function exportImport(options: ExportImportOptions): Promise<ExportImportResult> {
  const { docker, container, signal } = options;
  const object = `container ${container}`;
  let size: number | undefined;
  try {
    size = ((await docker.getContainer(container).inspect({ size: true } as Docker.ContainerInspectOptions)) as { SizeRootFs?: number }).SizeRootFs;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new WharfError({ code: 'not-found', object, cause: 'no such container on the local engine', remedy: 'Check the name with `docker ps -a`' });
    }
    throw new WharfError({ code: 'unreachable', object: 'local engine', cause: messageOf(error), inner: error });
  }
  throwIfCancelled(signal, object);
  const source = (await docker.getContainer(container).export()) as unknown as Readable;
  const result = await importTar(source, source, size, `Exporting ${container}`, object, options);
  return { container, ...result };
}

export interface ImportFileOptions extends Omit<ExportImportOptions, 'container' | 'docker'> {
  file: string;
  docker?: Docker;
}

/** Imports a filesystem tarball (.tar or .tar.gz, e.g. from docker export) as a one-layer image. */
export async function importFile(options: ImportFileOptions): Promise<ExportImportResult> {
  const object = `file ${options.file}`;
  let size: number;
  try {
    size = (await stat(options.file)).size;
  } catch (error) {
    throw new WharfError({ code: 'not-found', object, cause: messageOf(error), remedy: 'Check the path' });
  }
  const raw = createReadStream(options.file);
  const tar = isGzipName(options.file) ? raw.pipe(createGunzip()) : raw;
  const result = await importTar(raw, tar, size, `Importing ${options.file}`, object, options);
  return { container: '', ...result };
}

/**
 * docker import of a tar stream, on the local engine or on a host. A TarFilter passes every entry
 * through; on cancel it spoils the archive so no partial image is created.
 */
async function importTar(
  source: Readable,
  tar: Readable,
  size: number | undefined,
  label: string,
  object: string,
  options: Omit<ExportImportOptions, 'container' | 'docker'> & { docker?: Docker },
): Promise<Omit<ExportImportResult, 'container'>> {
  const { ref, signal } = options;
  const filter = new TarFilter();
  tar.pipe(filter);
  const where = options.ssh ? (options.host ?? 'host') : 'local engine';
  const report = throttledProgress(options.progress, `${label} to ${where}`, size, () => filter.bytesIn, () => filter.bytesOut);
  const ticker = setInterval(() => report.tick(), 300);
  const spoil = () => {
    tar.unpipe(filter);
    filter.poison();
    filter.end();
  };
  try {
    if (options.ssh) {
      const wire = new Meter();
      const tail = options.compress ? filter.pipe(createGzip({ level: 1 })).pipe(wire) : filter.pipe(wire);
      const argv = ['docker', 'import', ...(options.message ? ['--message', options.message] : []), '-', ref];
      const run = await pumpToRemote(options.ssh, argv, { source, tail, signal, spoil });
      if (run.cancelled) throw new WharfError({ code: 'cancelled', object, cause: `cancelled; nothing was imported on ${where}` });
      if (run.localError) throw new WharfError({ code: 'interrupted', object, cause: `reading failed: ${messageOf(run.localError)}`, inner: run.localError });
      if (run.code !== 0) throw remoteDockerError({ host: where, action: 'docker import', code: run.code, signal: run.signal, stderr: run.stderr || run.stdout });
      report.final();
      return { ref, imageId: run.stdout.trim().split('\n').pop() ?? '', where, bytes: filter.bytesIn };
    }
    if (!options.docker) throw new WharfError({ code: 'bad-input', object, cause: 'no engine to import into' });
    const onAbort = () => {
      source.destroy();
      spoil();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const [repo, tag] = splitRef(ref);
      const response = (await options.docker.importImage(filter as unknown as string, { repo, tag, message: options.message })) as unknown as Readable;
      const messages = await readJsonMessages(response);
      if (signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'cancelled; nothing was imported' });
      const failure = messages.find((message) => message.error || message.errorDetail);
      if (failure) throw new WharfError({ code: 'failed', object, cause: `docker import failed: ${failure.errorDetail?.message ?? failure.error}` });
      const id = messages.map((message) => message.status ?? '').find((status) => status.startsWith('sha256:')) ?? '';
      report.final();
      return { ref, imageId: id.trim(), where, bytes: filter.bytesIn };
    } catch (error) {
      if (signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'cancelled; nothing was imported' });
      throw isWharfError(error) ? error : new WharfError({ code: 'failed', object, cause: `docker import failed: ${messageOf(error)}`, inner: error });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    clearInterval(ticker);
  }
}

/** repo[:tag], where a colon before the last slash belongs to a registry port. */
export function splitRef(ref: string): [string, string | undefined] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, undefined];
}
