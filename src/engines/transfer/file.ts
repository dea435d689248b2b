/**
 * Save an image to a local .tar / .tar.gz file, and load one into the local engine or an SSH host.
 * Streamed end to end. A save writes to a hidden temporary name in the target folder and renames
 * it when complete, so a cancelled or failed save never leaves a partial archive under the real
 * name, and the temporary file is removed.
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Client } from 'ssh2';
import { WharfError, isWharfError, messageOf, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { parseLoaded } from './arrival';
import { Meter, pumpToRemote, throttledProgress } from './pump';
import { remoteDockerError } from './remoteDocker';
import { inspectLocalImage, saveStream } from './send';
import { TarFilter } from './tarStream';

export const isGzipName = (file: string) => /\.(tar\.gz|tgz)$/i.test(file);

export interface SaveFileOptions extends WorkOptions {
  docker: Docker;
  image: string;
  file: string;
  /** Default: from the name (.tar.gz / .tgz). */
  gzip?: boolean;
}

export interface SaveFileResult {
  image: string;
  imageId: string;
  file: string;
  bytes: number;
  gzip: boolean;
}

export async function saveImageToFile(options: SaveFileOptions): Promise<SaveFileResult> {
  const { docker, image, signal } = options;
  const file = path.resolve(options.file);
  const gzip = options.gzip ?? isGzipName(file);
  const local = await inspectLocalImage(docker, image);
  throwIfCancelled(signal, `image ${image}`);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.part`);
  const source = await saveStream(docker, local.RepoTags?.includes(image) ? image : local.Id);
  const counted: Meter = new Meter(() => report.tick());
  const written = new Meter();
  const report = throttledProgress(options.progress, `Saving ${image}`, local.Size, () => counted.bytes, () => counted.bytes);
  try {
    const output = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
    await (gzip
      ? pipeline(source, counted, createGzip({ level: 6 }), written, output, { signal })
      : pipeline(source, counted, written, output, { signal }));
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (signal?.aborted) throw new WharfError({ code: 'cancelled', object: `file ${file}`, cause: 'cancelled; no file was written' });
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new WharfError({ code: 'disk-full', object: `file ${file}`, cause: 'no space left on device', remedy: 'Free disk space or save somewhere else', inner: error });
    }
    throw isWharfError(error) ? error : new WharfError({ code: 'failed', object: `file ${file}`, cause: messageOf(error), inner: error });
  }
  report.final();
  return { image, imageId: local.Id, file, bytes: written.bytes, gzip };
}

export interface LoadFileOptions extends WorkOptions {
  file: string;
  /** Load into this local engine… */
  docker?: Docker;
  /** …or into the engine of this SSH host. */
  ssh?: Client;
  host?: string;
  /** gzip on the wire when loading on a host. */
  compress?: boolean;
}

export interface LoadResult {
  file: string;
  /** What docker load reported ("name:tag" or an image id). */
  loaded: string[];
  where: string;
  bytes: number;
}

/** Opens an archive file as a plain tar stream (gunzipped when its first bytes say gzip). */
async function openArchive(file: string): Promise<{ raw: ReadStream; tar: Readable; size: number }> {
  let size: number;
  let magic = Buffer.alloc(0);
  try {
    size = (await stat(file)).size;
    const handle = await open(file, 'r');
    try {
      magic = (await handle.read(Buffer.alloc(2), 0, 2, 0)).buffer;
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new WharfError({ code: 'not-found', object: `file ${file}`, cause: messageOf(error), remedy: 'Check the path' });
  }
  const raw = createReadStream(file);
  const gzipped = magic[0] === 0x1f && magic[1] === 0x8b;
  return { raw, tar: gzipped ? raw.pipe(createGunzip()) : raw, size };
}

export async function loadImageFromFile(options: LoadFileOptions): Promise<LoadResult> {
  const file = path.resolve(options.file);
  const { raw, tar, size } = await openArchive(file);
  // The filter blanks nothing: it is here to spoil the archive on cancel (see TarFilter.poison).
  const filter = new TarFilter();
  tar.pipe(filter);
  const where = options.ssh ? (options.host ?? 'host') : 'local engine';
  const fileMeter = {
    get bytes() {
      return raw.bytesRead;
    },
  };
  const report = throttledProgress(options.progress, `Loading ${path.basename(file)} into ${where}`, size, () => fileMeter.bytes, () => fileMeter.bytes);
  const object = `file ${file}`;
  const ticker = setInterval(() => report.tick(), 300);
  try {
    if (options.ssh) {
      const wire = new Meter();
      const tail = options.compress ? filter.pipe(createGzip({ level: 1 })).pipe(wire) : filter.pipe(wire);
      const run = await pumpToRemote(options.ssh, ['docker', 'load'], {
        source: raw,
        tail,
        signal: options.signal,
        spoil: () => {
          tar.unpipe(filter);
          filter.poison();
          filter.end();
        },
      });
      if (run.cancelled) throw new WharfError({ code: 'cancelled', object, cause: `cancelled; nothing was loaded on ${where}` });
      if (run.localError) throw new WharfError({ code: 'failed', object, cause: `reading the archive failed: ${messageOf(run.localError)}`, remedy: 'Check that the file is a docker save archive', inner: run.localError });
      if (run.code !== 0) throw remoteDockerError({ host: where, action: 'docker load', code: run.code, signal: run.signal, stderr: run.stderr || run.stdout });
      report.final();
      return { file, loaded: parseLoaded(run.stdout), where, bytes: fileMeter.bytes };
    }

    if (!options.docker) throw new WharfError({ code: 'bad-input', object, cause: 'no engine to load into' });
    const loaded = await loadIntoEngine(options.docker, filter, raw, object, options.signal);
    report.final();
    return { file, loaded, where, bytes: fileMeter.bytes };
  } finally {
    clearInterval(ticker);
  }
}

/** POST /images/load with a stream body; reads the JSON message stream for errors. */
export async function loadIntoEngine(docker: Docker, body: TarFilter, source: Readable, object: string, signal?: AbortSignal): Promise<string[]> {
  const onAbort = () => {
    source.unpipe();
    source.destroy();
    body.poison();
    body.end();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = (await docker.loadImage(body as unknown as string, { quiet: true })) as unknown as Readable;
    const messages = await readJsonMessages(response);
    if (signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'cancelled; nothing was loaded' });
    const failure = messages.find((message) => message.error || message.errorDetail);
    if (failure) {
      const text = failure.errorDetail?.message ?? failure.error ?? 'unknown error';
      if (/no space left on device/i.test(text)) throw new WharfError({ code: 'disk-full', object, cause: 'no space left on device', remedy: 'Free disk space for the engine and load again' });
      throw new WharfError({ code: 'failed', object, cause: `docker load failed: ${text}`, remedy: 'Check that the file is a complete docker save archive' });
    }
    return parseLoaded(messages.map((message) => message.stream ?? '').join(''));
  } catch (error) {
    if (signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'cancelled; nothing was loaded' });
    if (isWharfError(error)) throw error;
    throw new WharfError({ code: 'failed', object, cause: `docker load failed: ${messageOf(error)}`, inner: error });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

interface JsonMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Reads an Engine API JSON message stream (one object per line). Small: load and import print little. */
export async function readJsonMessages(response: Readable): Promise<JsonMessage[]> {
  let text = '';
  for await (const chunk of response) if (text.length < 1 << 20) text += (chunk as Buffer).toString('utf8');
  const messages: JsonMessage[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      messages.push(JSON.parse(line) as JsonMessage);
    } catch {
      messages.push({ stream: line });
    }
  }
  return messages;
}
