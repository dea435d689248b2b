/**
 * `wharf sync IMAGE HOST`: the whole deduplicated sync in one SSH session. The save starts while
 * SSH connects. The host first says what it holds: its recipes, the plans of those this pool shares
 * with it (where each chunk is), and the segments an interrupted sync left. Then one stream: the
 * image is cut (or read from the pool's recipe) while the chunks the host lacks go out in segments
 * and the plan names, for every chunk, the segment member it is in; the host stores the segments
 * and pipes the rebuilt archive into docker load as the plan arrives. Then the loaded id is checked
 * against ours; when it differs, the segments the plan uses are checked by their hash, the damaged
 * ones dropped, and a second stream sends just the chunks they held.
 */
import type Docker from 'dockerode';
import type { Client } from 'ssh2';
import { WharfError, isWharfError, messageOf, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { inspectImage, engineCall } from '../docker/imageOps';
import { resolveSshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';
import { Pool, formatBytes, recipeFingerprint, type Recipe } from './pool';
import { ChunkFeed } from './chunkFeed';
import { OrderedQueue } from './orderedQueue';
import { HostIndex, PLAN_FLUSH_ENTRIES, PlanWriter, type HostRecipe } from './hostPlan';
import { SegmentBuilder } from './segment';
import { RemotePool, planNamesLine, type Prepared, type RemotePoolOptions, type StreamResult } from './remote';

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
  let early: EarlySave | undefined;
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
    // Without a recipe, the save starts now, while SSH connects; the stream reads it from the feed.
    early = recipe ? undefined : startSave(pool, options.docker, image, info, options);
    emit('connecting');
    progress(`connecting to ${options.host}`);
    if (!client) {
      const target = await resolveSshTarget(options.host, { configFile: options.sshConfigFile });
      client = await connectSsh(target, { ...options.ssh, signal: options.signal });
      ownClient = true;
    }
    const remote = new RemotePool(client, options.host, options.remote);
    const sent = new Set<string>();
    let sentRaw = 0;
    let base = 0;
    const candidates = await candidateRecipes(pool, image);
    const fingerprints = candidates.map((candidate) => candidate.fingerprint);
    let bases: HostRecipe[] = [];
    let prepared: Prepared | undefined;
    // The first session's answer: what the host holds; false when it already has the image.
    const decide = (answer: Prepared): boolean => {
      prepared = answer;
      figures.recovered = answer.orphans.reduce((sum, orphan) => sum + orphan.hashes.length, 0);
      if (figures.recovered) options.log?.info(`dedup: ${figures.recovered} chunks an interrupted sync left on ${options.host} are reused`);
      if (answer.imageId === info.Id && !options.verifyAll) return false;
      bases = candidates.flatMap((candidate) => {
        const plan = answer.plans.get(candidate.fingerprint);
        return plan === undefined ? [] : [{ ...candidate, plan }];
      });
      return true;
    };

    // One pass: the save (or the stored recipe) is cut, stored, sent and loaded on the host at once.
    async function pass(exclude: ReadonlySet<string>, withOrphans: boolean, go: (answer: Prepared) => boolean): Promise<PassResult | undefined> {
      const plan = new PlanWriter();
      const present = new Set<string>();
      const distinct = new Set<string>();
      let sentNow = 0;
      const { streamed } = await remote.sync(
        ref,
        fingerprints,
        go,
        WIRE_LEVEL,
        async (writer) => {
          const index = new HostIndex(bases, withOrphans ? (prepared?.orphans ?? []) : [], exclude);
          if (index.rejected.length) options.log?.warn(`dedup: ${index.rejected.length} plans on ${options.host} did not match their recipes; not used`);
          emit('sending');
          const queue = new OrderedQueue(4);
          let open = new SegmentBuilder();
          let together = 0;
          let planSeq = 0;
          const sendPlan = async () => {
            const text = plan.take();
            if (text) await queue.add(() => writer.member(`p${planSeq++}`, text));
          };
          const closeSegment = async () => {
            if (open.count === 0) return;
            const segment = open;
            open = new SegmentBuilder();
            const name = segment.close();
            const oneStream = together < COMPRESS_TOGETHER_BYTES;
            together += segment.size;
            await queue.add(async () => {
              if (!oneStream) await writer.switchToMembers();
              await writer.member(`${name}.idx`, segment.index);
              await writer.compound(name, segment.size, segment.parts);
            });
            await sendPlan();
          };
          const put = async (hash: string, size: number, raw: () => Buffer | Promise<Buffer>, packed: () => Promise<Buffer>) => {
            distinct.add(hash);
            let location = index.get(hash);
            if (!location) {
              if (open.wouldOverflow(size)) await closeSegment();
              location = { seg: open, member: open.add(hash, await raw(), packed) };
              index.set(hash, location);
              if (!sent.has(hash)) sentRaw += size;
              sent.add(hash);
              sentNow++;
            } else if (!sent.has(hash)) present.add(hash);
            plan.push(location);
            if (plan.pending >= PLAN_FLUSH_ENTRIES) await sendPlan();
            figures.chunksSent = sent.size;
            if (!recipe) figures.chunksTotal = distinct.size;
            figures.wireBytes = base + writer.bytes;
            if (distinct.size % 64 === 0) {
              progress(`sending: ${figures.chunksSent} chunks (${formatBytes(figures.wireBytes)})`, figures.chunksSent, figures.chunksTotal || undefined);
              emit();
            }
          };
          const stopped = () => options.signal?.aborted || writer.closed;
          try {
            if (recipe) {
              for (const [index, hash] of recipe.chunks.entries()) {
                if (stopped()) break;
                await put(hash, recipe.sizes[index], () => pool.readRaw(hash), () => pool.readChunk(hash));
              }
            } else if (early) {
              progress(`saving ${image} into the pool and sending it`);
              for await (const chunk of early.feed) {
                if (stopped()) break;
                await put(chunk.hash, chunk.data.length, () => chunk.data, chunk.packed);
              }
              if (stopped()) early.stop();
              recipe = await early.done;
            }
            // Stopped or not, the open segment goes out: every chunk taken so far arrives whole.
            await closeSegment();
            if (stopped() || !recipe) return;
            await sendPlan();
            const end = `${recipeFingerprint(recipe.chunks)}\n${planNamesLine(recipe)}\n`;
            await queue.add(() => writer.member('end', end));
          } finally {
            await queue.drain();
          }
        },
        options,
      );
      if (!streamed) return undefined;
      figures.wireBytes = base + streamed.bytes;
      base = figures.wireBytes;
      return { streamed, segments: plan.segments, present: present.size, sentNow };
    }

    const first = await pass(new Set(), true, decide);
    throwIfCancelled(options.signal, `sync of ${image} to ${options.host}`);
    if (!first) {
      figures.upToDate = true;
      figures.verified = true;
      figures.chunksPresent = figures.chunksTotal;
      figures.dedupRatio = 1;
      emit('done');
      await record(pool, figures, true);
      return figures;
    }
    if (first.streamed.failure) throw first.streamed.failure;
    if (!recipe) throw new WharfError({ code: 'failed', object: image, cause: 'the save ended before the image was whole', remedy: 'Sync again' });
    useRecipe(recipe);
    figures.chunksSent = sent.size;
    figures.chunksPresent = first.present;
    let streamed = first.streamed;
    let id = streamed.loaded ? streamed.id : undefined;
    const damaged = new Set([...streamed.missing, ...streamed.unreadable]);
    if (id !== info.Id || options.verifyAll || damaged.size) {
      if (id !== info.Id) options.log?.warn(`dedup: load on ${options.host} ${id ? `gave id ${id}` : `failed: ${lastLine(streamed.output)}`}; checking the segments`);
      emit(id === info.Id ? 'verifying' : 'repairing');
      const checked = await remote.verify([...first.segments].filter((segment) => !damaged.has(segment)), options);
      for (const segment of checked.bad) damaged.add(segment);
      // A second stream without the damaged segments (and without what an interrupted sync left,
      // whose chunk lists could be the cause) sends just the chunks they held, and loads again.
      if (damaged.size || (id !== info.Id && prepared?.orphans.length)) {
        options.log?.warn(`dedup: ${damaged.size} damaged or missing segments on ${options.host}; sending their chunks again`);
        emit('repairing');
        await remote.remove([...damaged], options);
        const second = await pass(damaged, false, () => true);
        throwIfCancelled(options.signal, `sync of ${image} to ${options.host}`);
        if (!second) throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: 'the repair stream did not start', remedy: 'Sync again' });
        figures.repaired = second.sentNow;
        figures.chunksSent = sent.size;
        if (second.streamed.failure) throw second.streamed.failure;
        streamed = second.streamed;
        id = streamed.loaded ? streamed.id : undefined;
      }
    }
    if (id === undefined) {
      throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: `docker load failed: ${lastLine(streamed.output)}`, remedy: 'See the log; the segments stay on the host, so the next sync sends nothing twice' });
    }
    if (id !== info.Id) {
      throw new WharfError({ code: 'failed', object: `${image} on ${options.host}`, cause: `the loaded image id ${id} differs from ours ${info.Id}`, remedy: 'Run the sync again with --verify to check every segment on the host' });
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
    // A save still running (a failure, or the host had the image) stops; its chunks stay pooled.
    early?.stop();
    await early?.done.catch(() => undefined);
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

interface EarlySave {
  feed: ChunkFeed;
  /** The recipe once the save is whole; undefined when it was stopped. */
  done: Promise<Recipe | undefined>;
  stop(): void;
}

/** Ingests `docker save` into the pool, handing each chunk to the feed (at most 32 MiB ahead). */
function startSave(pool: Pool, docker: Docker, image: string, info: { Id: string; RepoTags?: string[] }, work: WorkOptions): EarlySave {
  const stopper = new AbortController();
  const signal = work.signal ? AbortSignal.any([work.signal, stopper.signal]) : stopper.signal;
  const feed = new ChunkFeed(32 << 20);
  const done = (async () => {
    try {
      const stream = await engineCall(`image ${image}`, () => docker.getImage(image).get());
      const tags = (info.RepoTags ?? []).filter((tag) => tag === image);
      const stats = await pool.ingest(stream as unknown as AsyncIterable<Buffer>, { imageId: info.Id, tags }, { ...work, signal }, (hash, data, packed) => feed.push({ hash, data, packed }));
      work.log?.info(`dedup: saved ${image}: ${stats.chunksTotal} chunks, ${stats.chunksNew} new (${formatBytes(stats.bytesNew)}) in ${stats.durationMs} ms`);
      feed.end();
      return stats.recipe;
    } catch (error) {
      const stopped = isWharfError(error, 'cancelled');
      feed.end(stopped ? undefined : error);
      if (stopped) return undefined;
      throw error;
    }
  })();
  done.catch(() => undefined); // surfaces through the feed, or is awaited on the way out
  return { feed, done, stop: () => (stopper.abort(), feed.close()) };
}

interface PassResult {
  streamed: StreamResult;
  /** Segments the plan of this pass names. */
  segments: Set<string>;
  present: number;
  sentNow: number;
}

/** A recipe in the pool for this image with every chunk present, so no save is needed. */
async function reusableRecipe(pool: Pool, image: string, imageId: string): Promise<Recipe | undefined> {
  const existing = await pool.readRecipe(imageId);
  if (!existing) return undefined;
  const named = existing.tags.includes(image) || imageId === image || imageId.replace(/^sha256:/, '').startsWith(image.replace(/^sha256:/, ''));
  return named && (await complete(pool, existing)) ? existing : undefined;
}

/**
 * Recipes of this pool the host may hold, likeliest base first (same repository, then newest): the
 * host sends back the plans of those it has. At most 8, so the index stays small.
 */
async function candidateRecipes(pool: Pool, image: string): Promise<{ fingerprint: string; chunks: string[] }[]> {
  const repo = repoOf(image);
  const recipes = (await pool.listRecipes()).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const same = (recipe: Recipe) => recipe.tags.some((tag) => repoOf(tag) === repo);
  return [...recipes.filter(same), ...recipes.filter((recipe) => !same(recipe))].slice(0, 8).map((recipe) => ({ fingerprint: recipeFingerprint(recipe.chunks), chunks: recipe.chunks }));
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
