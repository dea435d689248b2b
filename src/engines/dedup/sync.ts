/**
 * `wharf sync IMAGE HOST`: the whole deduplicated sync. Save the image into the local pool (or
 * reuse its recipe), ask the host which chunks it has, send only the missing ones in one stream,
 * rebuild and load the image there, and check the loaded id equals ours. When the load fails or the
 * id differs, every chunk on the host is checked by its hash, the damaged ones are re-sent, and the
 * load is tried once more.
 */
import type Docker from 'dockerode';
import type { Client } from 'ssh2';
import { WharfError, messageOf, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { inspectImage, engineCall } from '../docker/imageOps';
import { resolveSshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';
import { Pool, formatBytes, type Recipe } from './pool';
import { RemotePool, type RemotePoolOptions } from './remote';

export type SyncPhase = 'saving' | 'connecting' | 'comparing' | 'sending' | 'loading' | 'verifying' | 'repairing' | 'done' | 'failed';

/** The figures a sync reports as it goes and at the end (the webview and --json show these). */
export interface SyncFigures {
  image: string;
  imageId: string;
  host: string;
  phase: SyncPhase;
  /** Distinct chunks the image is made of. */
  chunksTotal: number;
  /** Of those, chunks the host already had. */
  chunksPresent: number;
  /** Chunks sent in this sync (repairs included). */
  chunksSent: number;
  /** Chunk references in the recipe (repeats included). */
  recipeLength: number;
  /** Bytes of the `docker save` tar. */
  imageBytes: number;
  /** Bytes written to the SSH channels: the chunk stream plus the name lists. */
  wireBytes: number;
  /** What `docker save | gzip` would send (the sum of the image's gzip members). */
  saveGzipBytes: number;
  /** Share of the image's bytes that did not need to travel (0..1). */
  dedupRatio: number;
  /** wireBytes / saveGzipBytes. */
  wireVsGzip: number;
  bytesPerSecond: number;
  elapsedMs: number;
  /** Chunks found damaged on the host and re-sent. */
  repaired: number;
  /** Chunks recovered from an interrupted earlier transfer. */
  recovered: number;
  /** True once the host's image id was checked against ours. */
  verified: boolean;
  /** True when the host already had this image, so nothing was loaded. */
  upToDate: boolean;
  error?: string;
}

export interface SyncOptions extends WorkOptions {
  /** The local engine (dockerode). */
  docker: Docker;
  /** Local pool folder. */
  poolDir: string;
  /** An alias from ssh_config or ssh://user@host:port. */
  host: string;
  sshConfigFile?: string;
  ssh?: SshConnectOptions;
  remote?: RemotePoolOptions;
  /** Check every chunk on the host by its hash before loading. */
  verifyAll?: boolean;
  /** Called with the figures at every step. */
  onFigures?: (figures: SyncFigures) => void;
  /** An open connection to use instead of opening one (tests, callers that already hold one). */
  client?: Client;
}

export interface HistoryEntry {
  at: string;
  image: string;
  imageId: string;
  chunksTotal: number;
  chunksPresent: number;
  chunksSent: number;
  wireBytes: number;
  saveGzipBytes: number;
  dedupRatio: number;
  elapsedMs: number;
  ok: boolean;
  error?: string;
}

export async function syncImage(image: string, options: SyncOptions): Promise<SyncFigures> {
  const started = Date.now();
  const pool = await Pool.open(options.poolDir);
  const figures: SyncFigures = {
    image,
    imageId: '',
    host: options.host,
    phase: 'saving',
    chunksTotal: 0,
    chunksPresent: 0,
    chunksSent: 0,
    recipeLength: 0,
    imageBytes: 0,
    wireBytes: 0,
    saveGzipBytes: 0,
    dedupRatio: 0,
    wireVsGzip: 0,
    bytesPerSecond: 0,
    elapsedMs: 0,
    repaired: 0,
    recovered: 0,
    verified: false,
    upToDate: false,
  };
  const emit = (phase?: SyncPhase) => {
    if (phase) figures.phase = phase;
    figures.elapsedMs = Date.now() - started;
    figures.bytesPerSecond = figures.elapsedMs > 0 ? Math.round((figures.wireBytes * 1000) / figures.elapsedMs) : 0;
    figures.wireVsGzip = figures.saveGzipBytes ? figures.wireBytes / figures.saveGzipBytes : 0;
    options.onFigures?.({ ...figures });
  };
  const progress = (message: string, completed?: number, total?: number) => options.progress?.report({ message, completed, total });
  const release = await pool.enter();
  let client = options.client;
  let ownClient = false;
  try {
    emit('saving');
    const recipe = await recipeFor(pool, image, options);
    figures.imageId = recipe.imageId;
    figures.recipeLength = recipe.chunks.length;
    figures.imageBytes = recipe.totalSize;
    figures.saveGzipBytes = recipe.gzipSize;
    const unique = [...new Set(recipe.chunks)];
    const rawSize = new Map<string, number>();
    recipe.chunks.forEach((hash, index) => rawSize.set(hash, recipe.sizes[index]));
    figures.chunksTotal = unique.length;
    emit('connecting');
    progress(`connecting to ${options.host}`);
    if (!client) {
      const target = await resolveSshTarget(options.host, { configFile: options.sshConfigFile });
      client = await connectSsh(target, { ...options.ssh, signal: options.signal });
      ownClient = true;
    }
    const remote = new RemotePool(client, options.host, options.remote);
    const prepared = await remote.prepare(options);
    figures.recovered = prepared.recovered;
    if (prepared.recovered) options.log?.info(`dedup: kept ${prepared.recovered} chunks an interrupted transfer had left on ${options.host}`);

    const tag = recipe.tags.includes(image) ? image : recipe.imageId;
    const already = await remote.imageId(tag, options);
    if (already === recipe.imageId && !options.verifyAll) {
      figures.upToDate = true;
      figures.verified = true;
      figures.chunksPresent = unique.length;
      figures.dedupRatio = 1;
      emit('done');
      await record(pool, figures, true);
      return figures;
    }

    emit('comparing');
    figures.wireBytes += await remote.putRecipe(recipe.imageId, recipe.chunks, options);
    const missing = await remote.missing(recipe.imageId, options);
    figures.chunksPresent = unique.length - missing.length;
    emit('comparing');

    let sentRaw = 0;
    const sendAll = async (hashes: string[]) => {
      const base = figures.wireBytes;
      const baseChunks = figures.chunksSent;
      emit('sending');
      const result = await remote.send(pool, hashes, {
        ...options,
        onSent: (chunks, bytes) => {
          figures.chunksSent = baseChunks + chunks;
          figures.wireBytes = base + bytes;
          progress(`sending ${chunks}/${hashes.length} chunks (${formatBytes(bytes)})`, chunks, hashes.length);
          if (chunks % 64 === 0 || chunks === hashes.length) emit();
        },
      });
      figures.wireBytes = base + result.bytes;
      for (const hash of hashes) sentRaw += rawSize.get(hash) ?? 0;
      emit();
    };
    if (missing.length) await sendAll(missing);
    throwIfCancelled(options.signal, `sync of ${image} to ${options.host}`);

    // Finds damaged chunks on the host by their hash and sends them again.
    const repair = async () => {
      const checked = await remote.verify(pool, unique, options);
      if (checked.bad.length) {
        await remote.remove(checked.bad, options);
        figures.repaired += checked.bad.length;
        await sendAll(checked.bad);
      }
    };
    if (options.verifyAll) {
      emit('verifying');
      await repair();
    }

    emit('loading');
    progress(`loading ${image} on ${options.host}`);
    let loaded = await remote.load(recipe.imageId, options);
    figures.wireBytes += loaded.bytes;
    let id = loaded.ok ? await remote.imageId(tag, options) : undefined;
    if (id !== recipe.imageId) {
      // Something on the host is damaged: find it by hash, re-send it, and load once more.
      options.log?.warn(`dedup: load on ${options.host} ${loaded.ok ? `gave id ${id}` : `failed: ${loaded.output.split('\n').pop()}`}; checking every chunk`);
      emit('repairing');
      await repair();
      emit('loading');
      loaded = await remote.load(recipe.imageId, options);
      figures.wireBytes += loaded.bytes;
      id = loaded.ok ? await remote.imageId(tag, options) : undefined;
      if (!loaded.ok) {
        throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: `docker load failed: ${lastLine(loaded.output)}`, remedy: 'See the log; the chunks stay on the host, so the next sync sends nothing twice' });
      }
    }
    if (id !== recipe.imageId) {
      throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: `the loaded image id ${id ?? '(none)'} differs from ours ${recipe.imageId}`, remedy: 'Run the sync again with --verify to check every chunk on the host' });
    }
    figures.verified = true;
    figures.dedupRatio = recipe.totalSize ? 1 - sentRaw / recipe.totalSize : 0;
    emit('done');
    await record(pool, figures, true);
    return figures;
  } catch (error) {
    figures.error = messageOf(error);
    emit('failed');
    await record(pool, figures, false).catch(() => undefined);
    throw error;
  } finally {
    if (ownClient) client?.end();
    await release();
  }
}

/** The image's recipe: reused when the pool has it whole, made by `docker save` otherwise. */
async function recipeFor(pool: Pool, image: string, options: SyncOptions): Promise<Recipe> {
  const info = await inspectImage(options.docker, image);
  const existing = await pool.readRecipe(info.Id);
  const named = (recipe: Recipe) => recipe.tags.includes(image) || info.Id === image || info.Id.replace(/^sha256:/, '').startsWith(image.replace(/^sha256:/, ''));
  if (existing && named(existing) && (await complete(pool, existing))) return existing;
  options.progress?.report({ message: `saving ${image} into the pool` });
  const stream = await engineCall(`image ${image}`, () => options.docker.getImage(image).get());
  const tags = (info.RepoTags ?? []).filter((tag) => tag === image);
  const stats = await pool.ingest(stream as unknown as AsyncIterable<Buffer>, { imageId: info.Id, tags }, options);
  options.log?.info(`dedup: saved ${image}: ${stats.chunksTotal} chunks, ${stats.chunksNew} new (${formatBytes(stats.bytesNew)}) in ${stats.durationMs} ms`);
  return stats.recipe;
}

async function complete(pool: Pool, recipe: Recipe): Promise<boolean> {
  for (const hash of new Set(recipe.chunks)) if ((await pool.chunkSize(hash)) === undefined) return false;
  return true;
}

async function record(pool: Pool, figures: SyncFigures, ok: boolean): Promise<void> {
  const entry: HistoryEntry = {
    at: new Date().toISOString(),
    image: figures.image,
    imageId: figures.imageId,
    chunksTotal: figures.chunksTotal,
    chunksPresent: figures.chunksPresent,
    chunksSent: figures.chunksSent,
    wireBytes: figures.wireBytes,
    saveGzipBytes: figures.saveGzipBytes,
    dedupRatio: figures.dedupRatio,
    elapsedMs: figures.elapsedMs,
    ok,
    ...(figures.error ? { error: figures.error } : {}),
  };
  await pool.appendHistory(figures.host, entry);
}

export async function syncHistory(poolDir: string, host: string, limit = 50): Promise<HistoryEntry[]> {
  return (await Pool.open(poolDir)).readHistory<HistoryEntry>(host, limit);
}

function lastLine(text: string): string {
  return (text.trim().split('\n').pop() ?? '').slice(0, 300);
}
