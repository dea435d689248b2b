/**
 * `wharf sync IMAGE HOST`: the whole deduplicated sync in two SSH sessions. The first learns what
 * the host holds (its recipes and any chunks an interrupted sync left). The second is one stream:
 * the image is saved and cut (or read from the pool's recipe) while each chunk goes out either raw,
 * when the host lacks it, or as a reference into a recipe the host has; the host appends to the new
 * recipe and pipes the rebuilt archive into docker load as the members arrive. Then the loaded id
 * is checked against ours; when it differs, every chunk on the host is checked by its hash, the
 * damaged ones are re-sent and the load is tried once more.
 */
import type Docker from 'dockerode';
import type { Client } from 'ssh2';
import { WharfError, isWharfError, messageOf, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { inspectImage, engineCall } from '../docker/imageOps';
import { resolveSshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';
import { Pool, formatBytes, recipeFingerprint, type Recipe } from './pool';
import { OrderedQueue } from './orderedQueue';
import { OPS_FLUSH_ENTRIES, RefEncoder, type HostBase } from './refEncoder';
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
  const useRecipe = (recipe: Recipe) => {
    figures.recipeLength = recipe.chunks.length;
    figures.imageBytes = recipe.totalSize;
    figures.saveGzipBytes = recipe.gzipSize;
    figures.chunksTotal = new Set(recipe.chunks).size;
  };
  const release = await pool.enter();
  let client = options.client;
  let ownClient = false;
  try {
    emit('saving');
    const info = await inspectImage(options.docker, image);
    figures.imageId = info.Id;
    // What the host looks the image up by afterwards: the tag docker load sets, or the id.
    const ref = (info.RepoTags ?? []).includes(image) ? image : info.Id;
    let recipe = await reusableRecipe(pool, image, info.Id);
    if (recipe) useRecipe(recipe);
    emit('connecting');
    progress(`connecting to ${options.host}`);
    if (!client) {
      const target = await resolveSshTarget(options.host, { configFile: options.sshConfigFile });
      client = await connectSsh(target, { ...options.ssh, signal: options.signal });
      ownClient = true;
    }
    const remote = new RemotePool(client, options.host, options.remote);
    const prepared = await remote.prepare(ref, options);
    figures.recovered = prepared.orphans.size;
    if (prepared.orphans.size) options.log?.info(`dedup: ${prepared.orphans.size} chunks an interrupted sync left on ${options.host} are reused`);
    if (prepared.imageId === info.Id && !options.verifyAll) {
      figures.upToDate = true;
      figures.verified = true;
      figures.chunksPresent = figures.chunksTotal;
      figures.dedupRatio = 1;
      emit('done');
      await record(pool, figures, true);
      return figures;
    }

    // One pass: the save (or the stored recipe) is cut, stored, sent and loaded on the host at once.
    const encoder = new RefEncoder(await hostBases(pool, prepared.recipes, image), prepared.orphans);
    let sentRaw = 0;
    let opsSeq = 0;
    emit('sending');
    const streamed = await remote.sync(
      ref,
      WIRE_LEVEL,
      async (writer) => {
        const queue = new OrderedQueue();
        let together = 0;
        const flushOps = async () => {
          const ops = encoder.takeOps();
          const name = `r${opsSeq++}`;
          if (ops) await queue.add(() => writer.member(name, ops));
        };
        const put = async (hash: string, size: number, raw: () => Buffer | Promise<Buffer>, packed: () => Promise<Buffer>) => {
          if (encoder.next(hash) === 'data') {
            await flushOps();
            sentRaw += size;
            if (together < COMPRESS_TOGETHER_BYTES) {
              together += size;
              await queue.add(async () => writer.member(hash, await raw()));
            } else {
              await queue.add(async () => {
                await writer.switchToMembers();
                await writer.packed(hash, await packed(), size);
              });
            }
          } else if (encoder.pendingEntries >= OPS_FLUSH_ENTRIES) await flushOps();
          figures.chunksSent = encoder.dataCount;
          if (!recipe) figures.chunksTotal = encoder.distinct;
          figures.wireBytes = writer.bytes;
          if (encoder.length % 64 === 0) {
            progress(`sending: ${figures.chunksSent} chunks (${formatBytes(writer.bytes)})`, figures.chunksSent, figures.chunksTotal || undefined);
            emit();
          }
        };
        try {
          if (recipe) {
            for (const [index, hash] of recipe.chunks.entries()) {
              if (options.signal?.aborted || writer.closed) return;
              await put(hash, recipe.sizes[index], () => pool.readRaw(hash), () => pool.readChunk(hash));
            }
          } else {
            progress(`saving ${image} into the pool and sending it`);
            const stream = await engineCall(`image ${image}`, () => options.docker.getImage(image).get());
            const tags = (info.RepoTags ?? []).filter((tag) => tag === image);
            try {
              const stats = await pool.ingest(stream as unknown as AsyncIterable<Buffer>, { imageId: info.Id, tags }, options, (hash, data, packed) =>
                options.signal?.aborted || writer.closed ? undefined : put(hash, data.length, () => data, packed),
              );
              options.log?.info(`dedup: saved ${image}: ${stats.chunksTotal} chunks, ${stats.chunksNew} new (${formatBytes(stats.bytesNew)}) in ${stats.durationMs} ms`);
              recipe = stats.recipe;
            } catch (error) {
              if (isWharfError(error, 'cancelled')) return; // end the stream cleanly: what arrived is kept
              throw error;
            }
          }
          if (options.signal?.aborted) return;
          await flushOps();
          const end = `${recipeFingerprint(recipe.chunks)}\n`;
          await queue.add(() => writer.member('end', end));
        } finally {
          await queue.drain();
        }
      },
      options,
    );
    figures.wireBytes = streamed.bytes;
    throwIfCancelled(options.signal, `sync of ${image} to ${options.host}`);
    if (!recipe) throw new WharfError({ code: 'failed', object: image, cause: 'the save ended before the image was whole', remedy: 'Sync again' });
    useRecipe(recipe);
    const counts = encoder.counts;
    figures.chunksSent = counts.sent;
    figures.chunksPresent = counts.present;
    if (streamed.failure) throw streamed.failure;
    const fingerprint = recipeFingerprint(recipe.chunks);
    const unique = [...new Set(recipe.chunks)];
    const rawSize = new Map<string, number>();
    recipe.chunks.forEach((hash, index) => rawSize.set(hash, recipe?.sizes[index] ?? 0));

    const sendChunks = async (hashes: string[]) => {
      const base = figures.wireBytes;
      const result = await remote.store(pool, hashes, WIRE_LEVEL, { ...options, onSent: (_chunks, bytes) => ((figures.wireBytes = base + bytes), emit()) });
      figures.wireBytes = base + result.bytes;
      for (const hash of hashes) sentRaw += rawSize.get(hash) ?? 0;
      figures.chunksSent += hashes.length;
      emit();
    };
    let id = streamed.loaded ? streamed.id : undefined;
    let lastOutput = streamed.output;
    const reload = async () => {
      if (streamed.stored !== fingerprint) throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: 'the host did not keep the recipe', remedy: 'Sync again' });
      emit('loading');
      progress(`loading ${image} on ${options.host}`);
      const loaded = await remote.load(fingerprint, ref, options);
      lastOutput = loaded.output;
      id = loaded.ok ? loaded.id : undefined;
    };
    // Finds damaged chunks on the host by their hash and sends them again.
    const repair = async (): Promise<number> => {
      const checked = await remote.verify(unique, options);
      if (checked.bad.length) {
        await remote.remove(checked.bad, options);
        figures.repaired += checked.bad.length;
        await sendChunks(checked.bad);
      }
      return checked.bad.length;
    };
    if (streamed.missing.length) {
      // Referenced but gone from the host (removed by hand, say): send them and load again.
      options.log?.warn(`dedup: ${streamed.missing.length} chunks were missing on ${options.host}; sending them`);
      figures.chunksPresent -= streamed.missing.length;
      await sendChunks(streamed.missing);
      await reload();
    }
    if (id !== info.Id) {
      options.log?.warn(`dedup: load on ${options.host} ${id ? `gave id ${id}` : `failed: ${lastLine(lastOutput)}`}; checking every chunk`);
      emit('repairing');
      await repair();
      await reload();
      if (id === undefined) {
        throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: `docker load failed: ${lastLine(lastOutput)}`, remedy: 'See the log; the chunks stay on the host, so the next sync sends nothing twice' });
      }
    } else if (options.verifyAll) {
      emit('verifying');
      await repair();
    }
    if (id !== info.Id) {
      throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: `the loaded image id ${id ?? '(none)'} differs from ours ${info.Id}`, remedy: 'Run the sync again with --verify to check every chunk on the host' });
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

/**
 * Gzip level of the wire stream. 6 is gzip's default: on the Debian pair, level 9 saved 0.4% of
 * the bytes of level 6 for ~2x the CPU.
 */
const WIRE_LEVEL = 6;

/**
 * Raw bytes of missing chunks compressed together in one gzip stream (on the Debian pair 4.99 MB
 * against 5.25 MB one by one). Beyond this (a first sync), the pool's own gzip members travel as
 * they are: compressing 200 MB twice on 2 cores costs more time than the few % of bytes it saves.
 */
const COMPRESS_TOGETHER_BYTES = 32 << 20;

/** A recipe in the pool for this image with every chunk present, so no save is needed. */
async function reusableRecipe(pool: Pool, image: string, imageId: string): Promise<Recipe | undefined> {
  const existing = await pool.readRecipe(imageId);
  if (!existing) return undefined;
  const named = existing.tags.includes(image) || imageId === image || imageId.replace(/^sha256:/, '').startsWith(image.replace(/^sha256:/, ''));
  return named && (await complete(pool, existing)) ? existing : undefined;
}

/**
 * The host's recipes this pool also holds, likeliest base first (same repository, then newest):
 * what the encoder may reference. At most 8, so the index stays small.
 */
async function hostBases(pool: Pool, onHost: Set<string>, image: string): Promise<HostBase[]> {
  if (onHost.size === 0) return [];
  const repo = repoOf(image);
  const recipes = await pool.listRecipes();
  const found: { base: HostBase; same: boolean }[] = [];
  for (const recipe of recipes) {
    const fingerprint = recipeFingerprint(recipe.chunks);
    if (onHost.has(fingerprint)) found.push({ base: { fingerprint, chunks: recipe.chunks }, same: recipe.tags.some((tag) => repoOf(tag) === repo) });
  }
  return [...found.filter((entry) => entry.same), ...found.filter((entry) => !entry.same)].slice(0, 8).map((entry) => entry.base);
}

function repoOf(tag: string): string {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? tag.slice(0, colon) : tag;
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
