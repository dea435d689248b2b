/**
 * The local dedup pool: a folder of chunks named by their SHA-256 and stored gzip-compressed (one
 * gzip member each, so any host can `cat` members together and `gzip -dc` the result), plus one
 * recipe per image (its ordered chunk list). Every file is written to a temporary name and renamed,
 * so a crash leaves either the old state or the new one. Older image versions keep their recipes
 * (rollback) until garbage collection is asked to drop them.
 *
 * Layout: packs/<id>.pack + packs/<id>.idx, chunks/<sha256>.gz (loose chunks of older pools, still
 * read), recipes/<image id hex>.json, history/<host>.jsonl, tmp/, active/.
 *
 * Packs: one per save, the new chunks' gzip members appended in one file (one file per chunk cost
 * ~40k file creations for a 200 MB image, about half the save's time). Its index (`hash offset
 * length` a line) is written after the pack is renamed into place, so a pack without an index is
 * a crashed save's leftover: ignored, and removed by gc. The indexes are read into memory at open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, promises as fs, openSync, readSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { WharfError, fromNetworkError, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { DEFAULT_CHUNKER, chunkStream, type ChunkerParams } from './chunker';
import { ChunkGzip, type WorkerMode } from './gzipWorker';


export const HEX64 = /^[0-9a-f]{64}$/;

export interface Recipe {
  format: 1;
  /** sha256:<hex>, as the engine reports it. */
  imageId: string;
  /** The image's repo:tag names when it was saved. */
  tags: string[];
  /** Bytes of the `docker save` tar. */
  totalSize: number;
  /** Bytes of all chunk members concatenated (what `docker save | gzip` roughly weighs). */
  gzipSize: number;
  chunks: string[];
  /** Raw size of each chunk, in recipe order. */
  sizes: number[];
  /** Stored (gzip) size of each chunk, in recipe order. */
  gzSizes: number[];
  params: ChunkerParams;
  createdAt: string;
}

/** The name a recipe has on a host: SHA-256 of its chunk list, one name a line. */
export function recipeFingerprint(chunks: string[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(`${chunk}\n`);
  return hash.digest('hex');
}

/**
 * Sees each chunk as it is cut (a sync sends it while the save goes on); awaited, so it paces the
 * save. `packed` resolves to the chunk's stored gzip member once it is written.
 */
export type ChunkHook = (hash: string, data: Buffer, packed: () => Promise<Buffer>) => Promise<void> | void;

export interface IngestStats {
  recipe: Recipe;
  chunksTotal: number;
  chunksNew: number;
  bytesNew: number;
  durationMs: number;
}

export interface GcOptions {
  /** Image ids, id prefixes or repo:tag names whose recipes to drop first. */
  remove?: string[];
  /** Keep only the newest N recipes per repository (older versions are dropped). */
  keep?: number;
}

export interface GcResult {
  recipesRemoved: string[];
  chunksRemoved: number;
  bytesFreed: number;
  chunksKept: number;
}

export interface PoolOptions {
  /** gzip level for stored chunks (1..9). */
  level?: number;
  params?: ChunkerParams;
  /** Where new chunks are compressed: `auto` (a worker thread when a batch is worth one); tests force a path. */
  gzipWorker?: WorkerMode;
}

export function defaultPoolDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WHARF_POOL || path.join(os.homedir(), '.cache', 'wharf', 'pool');
}

const imageHex = (imageId: string) => imageId.replace(/^sha256:/, '');

/** True when `ref` (a repo:tag it had, its id or an id prefix of 6+ digits) names this image. */
export function namesImage(image: { tags: string[]; imageId: string }, ref: string): boolean {
  const hex = imageHex(ref);
  return image.tags.includes(ref) || (/^[0-9a-f]{6,64}$/.test(hex) && imageHex(image.imageId).startsWith(hex));
}

/** Where a packed chunk lives: `file` is the pack (a temporary name while its save runs). */
interface PackEntry {
  file: string;
  offset: number;
  length: number;
}

const INDEX_HEAD = 'wharf-pack 1';

function formatIndex(entries: [string, PackEntry][]): string {
  return `${INDEX_HEAD}\n${entries.map(([hash, entry]) => `${hash} ${entry.offset} ${entry.length}\n`).join('')}`;
}

export class Pool {
  /** Every packed chunk the loaded indexes name (the first pack by name wins for a duplicate). */
  private readonly index = new Map<string, PackEntry>();
  private readonly loadedPacks = new Set<string>();
  /**
   * Loose chunks/<hash>.gz files (older pools; saves no longer add any, gc removes them), listed
   * once at open so a save does not stat a missing file per chunk; the size once stat'ed.
   */
  private readonly loose = new Map<string, number | undefined>();

  private constructor(
    readonly dir: string,
    private readonly options: Required<PoolOptions>,
  ) {}

  static async open(dir: string, options: PoolOptions = {}): Promise<Pool> {
    const pool = new Pool(path.resolve(dir), { level: options.level ?? 6, params: options.params ?? DEFAULT_CHUNKER, gzipWorker: options.gzipWorker ?? 'auto' });
    try {
      for (const sub of ['chunks', 'packs', 'recipes', 'history', 'tmp', 'active']) await fs.mkdir(path.join(pool.dir, sub), { recursive: true });
    } catch (error) {
      throw fromNetworkError(error, `pool ${pool.dir}`, 'Choose a writable pool folder with --pool or WHARF_POOL');
    }
    for (const name of readdirSync(path.join(pool.dir, 'chunks'))) {
      const hash = name.slice(0, -3);
      if (name.endsWith('.gz') && HEX64.test(hash)) pool.loose.set(hash, undefined);
    }
    pool.refresh();
    return pool;
  }

  /** Loads the indexes of packs this process has not seen yet (another save may have added some). */
  private refresh(): void {
    const dir = path.join(this.dir, 'packs');
    for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.idx')).sort()) {
      const id = name.slice(0, -4);
      if (this.loadedPacks.has(id)) continue;
      this.loadedPacks.add(id);
      for (const [hash, entry] of readIndex(path.join(dir, name), path.join(dir, `${id}.pack`))) if (!this.index.has(hash)) this.index.set(hash, entry);
    }
  }

  get params(): ChunkerParams {
    return this.options.params;
  }

  chunkPath(hash: string): string {
    if (!HEX64.test(hash)) throw new WharfError({ code: 'bad-input', object: `chunk ${hash.slice(0, 80)}`, cause: 'not a SHA-256 hex name' });
    return path.join(this.dir, 'chunks', `${hash}.gz`);
  }

  /** Writes `data` to `file` through a unique temporary name in the pool, then renames it. */
  private async writeAtomic(file: string, data: Buffer | string): Promise<void> {
    const tmp = path.join(this.dir, 'tmp', `${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, file);
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw fromNetworkError(error, `pool ${this.dir}`, 'Free disk space or choose another pool folder; the pool is unchanged');
    }
  }

  /** The stored size of a chunk, or undefined when the pool lacks it. */
  async chunkSize(hash: string): Promise<number | undefined> {
    const size = this.chunkSizeNow(hash);
    if (size !== undefined) return size;
    this.refresh();
    if (this.index.has(hash)) return this.chunkSizeNow(hash);
    // A loose file the listing at open did not see (put there by hand or by an older wharf).
    const found = await fs.stat(this.chunkPath(hash)).catch(() => undefined);
    if (!found) return undefined;
    this.loose.set(hash, found.size);
    return found.size;
  }

  /** Like chunkSize, without a promise per chunk: packs first, then the loose files listed at open. */
  chunkSizeNow(hash: string): number | undefined {
    const entry = this.index.get(hash);
    if (entry) return entry.length;
    if (!this.loose.has(hash)) return undefined;
    let size = this.loose.get(hash);
    if (size === undefined) {
      try {
        size = statSync(this.chunkPath(hash)).size;
      } catch {
        this.loose.delete(hash); // removed behind our back
        return undefined;
      }
      this.loose.set(hash, size);
    }
    return size;
  }

  /**
   * A chunk's stored gzip member. Reads are synchronous (open, read at the offset, close): a few
   * microseconds from the page cache, where a promise per chunk queues behind the gzip jobs on
   * libuv's threads (20k chunks read one after another took ~10 s that way).
   */
  async readChunk(hash: string): Promise<Buffer> {
    const entry = this.index.get(hash);
    if (!entry) return fs.readFile(this.chunkPath(hash));
    const data = Buffer.allocUnsafe(entry.length);
    const fd = openSync(entry.file, 'r');
    try {
      let done = 0;
      while (done < entry.length) {
        const got = readSync(fd, data, done, entry.length - done, entry.offset + done);
        if (got === 0) throw new WharfError({ code: 'failed', object: `pool ${this.dir}`, cause: `pack ${path.basename(entry.file)} ends before chunk ${hash}`, remedy: 'Run `wharf pool gc`, then save the image again' });
        done += got;
      }
    } finally {
      closeSync(fd);
    }
    return data;
  }

  /** A chunk's content (what travels: the wire compresses the missing chunks together). */
  async readRaw(hash: string): Promise<Buffer> {
    // Synchronous like readChunk: one small member, where a promise per chunk costs more.
    return zlib.gunzipSync(await this.readChunk(hash));
  }

  /** Chunks a `docker save` stream into the pool and records its recipe. */
  async ingest(source: Readable | AsyncIterable<Buffer>, meta: { imageId: string; tags: string[] }, work: WorkOptions = {}, onChunk?: ChunkHook): Promise<IngestStats> {
    const started = Date.now();
    const release = await this.enter();
    try {
      const chunks: string[] = [];
      const sizes: number[] = [];
      const stored = new Map<string, Promise<number>>();
      // New chunks being compressed and stored; the first failure stops the save at its next chunk.
      const inFlight = new Set<Promise<unknown>>();
      let failure: { error: unknown } | undefined;
      const compressor = new ChunkGzip(this.options.level, this.options.gzipWorker);
      const pack = this.startPack();
      let totalSize = 0;
      let chunksNew = 0;
      let bytesNew = 0;
      try {
        for await (const chunk of chunkStream(source, this.options.params, { tarMembers: true })) {
          throwIfCancelled(work.signal, `saving ${meta.tags[0] ?? meta.imageId}`);
          if (failure) throw failure.error;
          chunks.push(chunk.hash);
          sizes.push(chunk.data.length);
          totalSize += chunk.data.length;
          let fresh: Promise<Buffer | undefined> | undefined;
          if (!stored.has(chunk.hash)) {
            const data = chunk.data;
            const hash = chunk.hash;
            // Resolves to the new member (the sync sends it from memory), or undefined when stored before.
            const job = (async () => {
              if (this.chunkSizeNow(hash) !== undefined) return undefined;
              chunksNew++;
              bytesNew += data.length;
              // Members come back in the order chunks went in, so the pack holds them in stream order.
              const packed = await compressor.gzip(data);
              pack.append(hash, packed);
              return packed;
            })();
            fresh = job;
            const size = job.then((packed) => packed?.length ?? (this.chunkSizeNow(hash) as number));
            size.catch(() => undefined); // a failure surfaces through `failure`; this copy must not go unhandled
            stored.set(hash, size);
            inFlight.add(job);
            job.then(
              () => inFlight.delete(job),
              (error: unknown) => {
                inFlight.delete(job);
                failure ??= { error };
              },
            );
            // Bounded: waits while ~4 MB of chunks are being compressed.
            const room = compressor.room();
            if (room) await room;
          }
          if (onChunk) {
            const job = stored.get(chunk.hash);
            const hash = chunk.hash;
            await onChunk(hash, chunk.data, async () => {
              const packed = await fresh;
              if (packed) return packed;
              await job;
              return this.readChunk(hash);
            });
          }
          if (chunks.length % 256 === 0) work.progress?.report({ message: `chunking ${formatBytes(totalSize)}` });
        }
        compressor.flush();
        await Promise.all(inFlight);
        if (failure) throw failure.error;
      } finally {
        // Also after a failed or cancelled save: the chunks stored so far are kept (a resumed sync reuses them).
        compressor.flush();
        await Promise.allSettled(inFlight);
        compressor.close();
        await pack.finish();
      }
      const gzSizes = await Promise.all(chunks.map((hash) => stored.get(hash) as Promise<number>));
      const recipe: Recipe = {
        format: 1,
        imageId: meta.imageId,
        tags: meta.tags,
        totalSize,
        gzipSize: gzSizes.reduce((a, b) => a + b, 0),
        chunks,
        sizes,
        gzSizes,
        params: this.options.params,
        createdAt: new Date().toISOString(),
      };
      await this.writeRecipe(recipe);
      return { recipe, chunksTotal: chunks.length, chunksNew, bytesNew, durationMs: Date.now() - started };
    } finally {
      await release();
    }
  }

  /**
   * A pack being written: members are appended as their gzip finishes (synchronous writes, see
   * readChunk), indexed in memory at once (a repeat in the same save reads it back), and on finish
   * the pack is renamed into packs/ and its index written beside it.
   */
  private startPack(): { append(hash: string, packed: Buffer): void; finish(): Promise<void> } {
    const id = `${Date.now().toString(36).padStart(9, '0')}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const tmp = path.join(this.dir, 'tmp', `${id}.pack`);
    const final = path.join(this.dir, 'packs', `${id}.pack`);
    const entries: [string, PackEntry][] = [];
    let fd: number | undefined;
    let offset = 0;
    const fail = (error: unknown) => fromNetworkError(error, `pool ${this.dir}`, 'Free disk space or choose another pool folder; the pool is unchanged');
    return {
      append: (hash, packed) => {
        try {
          fd ??= openSync(tmp, 'w');
          let done = 0;
          while (done < packed.length) done += writeSync(fd, packed, done, packed.length - done, offset + done);
        } catch (error) {
          throw fail(error);
        }
        const entry = { file: tmp, offset, length: packed.length };
        offset += packed.length;
        entries.push([hash, entry]);
        if (!this.index.has(hash)) this.index.set(hash, entry);
      },
      finish: async () => {
        if (fd === undefined) return;
        try {
          closeSync(fd);
          renameSync(tmp, final);
          for (const [, entry] of entries) entry.file = final;
          await this.writeAtomic(path.join(this.dir, 'packs', `${id}.idx`), formatIndex(entries));
          this.loadedPacks.add(id);
        } catch (error) {
          for (const [hash, entry] of entries) if (this.index.get(hash) === entry) this.index.delete(hash);
          rmSync(tmp, { force: true });
          throw fail(error);
        }
      },
    };
  }

  async writeRecipe(recipe: Recipe): Promise<void> {
    await this.writeAtomic(path.join(this.dir, 'recipes', `${imageHex(recipe.imageId)}.json`), JSON.stringify(recipe));
  }

  async readRecipe(imageId: string): Promise<Recipe | undefined> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.dir, 'recipes', `${imageHex(imageId)}.json`), 'utf8')) as Recipe;
    } catch {
      return undefined;
    }
  }

  /** Every recipe, newest first. A damaged recipe file is skipped (and reported by `check`). */
  async listRecipes(): Promise<Recipe[]> {
    const names = (await fs.readdir(path.join(this.dir, 'recipes'))).filter((name) => name.endsWith('.json'));
    const recipes: Recipe[] = [];
    for (const name of names) {
      try {
        recipes.push(JSON.parse(await fs.readFile(path.join(this.dir, 'recipes', name), 'utf8')) as Recipe);
      } catch {
        // half-written files cannot exist (rename), so this is outside damage; gc leaves it alone
      }
    }
    return recipes.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The recipe an image id, id prefix or repo:tag names (the newest when a tag has several). */
  async findRecipe(ref: string): Promise<Recipe | undefined> {
    return (await this.listRecipes()).find((recipe) => namesImage(recipe, ref));
  }

  /** Drops recipes as asked, then frees every chunk no remaining recipe uses. */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const unlock = await this.lockExclusive();
    try {
      const recipes = await this.listRecipes();
      const drop = new Set<string>();
      for (const ref of options.remove ?? []) {
        const hex = imageHex(ref);
        const matches = recipes.filter((recipe) => recipe.tags.includes(ref) || (/^[0-9a-f]{6,64}$/.test(hex) && imageHex(recipe.imageId).startsWith(hex)));
        if (matches.length === 0) throw new WharfError({ code: 'not-found', object: `pool image ${ref}`, cause: 'no recipe in the pool has this id or tag', remedy: 'Run `wharf pool ls` to see what the pool holds' });
        for (const recipe of matches) drop.add(recipe.imageId);
      }
      if (options.keep !== undefined) for (const recipe of olderVersions(recipes, options.keep)) drop.add(recipe.imageId);
      for (const imageId of drop) await fs.rm(path.join(this.dir, 'recipes', `${imageHex(imageId)}.json`), { force: true });
      const live = new Set<string>();
      for (const recipe of recipes) if (!drop.has(recipe.imageId)) for (const hash of recipe.chunks) live.add(hash);
      const removed = new Set<string>();
      const kept = new Set<string>();
      let bytesFreed = 0;
      for (const name of await fs.readdir(path.join(this.dir, 'chunks'))) {
        const hash = name.replace(/\.gz$/, '');
        if (live.has(hash)) {
          kept.add(hash);
          if (!this.loose.has(hash) && HEX64.test(hash)) this.loose.set(hash, undefined);
          continue;
        }
        const file = path.join(this.dir, 'chunks', name);
        const stat = await fs.stat(file).catch(() => undefined);
        if (!stat) continue;
        await fs.rm(file, { force: true });
        this.loose.delete(hash);
        removed.add(hash);
        bytesFreed += stat.size;
      }
      bytesFreed += await this.gcPacks(live, removed, kept);
      // Leftovers of crashed writers.
      for (const name of await fs.readdir(path.join(this.dir, 'tmp'))) await fs.rm(path.join(this.dir, 'tmp', name), { force: true, recursive: true });
      return { recipesRemoved: [...drop], chunksRemoved: removed.size, bytesFreed, chunksKept: kept.size };
    } finally {
      await unlock();
    }
  }

  /**
   * The packs' share of gc. Rule: a pack with no live chunk is deleted; a pack holding any dead
   * chunk (or a second copy of a chunk an earlier pack holds) is rewritten with its live chunks only:
   * new pack and index first, then the old index and pack go, so a crash leaves at worst a duplicate.
   * gc is asked for by hand, so copying the live part of the affected packs is an affordable price
   * for freeing every dead byte. Packs without an index (a crashed save) are deleted. Returns bytes freed.
   */
  private async gcPacks(live: Set<string>, removed: Set<string>, kept: Set<string>): Promise<number> {
    const dir = path.join(this.dir, 'packs');
    const names = (await fs.readdir(dir)).sort();
    const indexed = new Set(names.filter((name) => name.endsWith('.idx')).map((name) => name.slice(0, -4)));
    let freed = 0;
    for (const name of names) {
      if (!name.endsWith('.pack') || indexed.has(name.slice(0, -5))) continue;
      const file = path.join(dir, name);
      freed += (await fs.stat(file).catch(() => undefined))?.size ?? 0;
      await fs.rm(file, { force: true });
    }
    const owned = new Set<string>(kept); // hashes already held by a loose file or an earlier pack
    for (const id of [...indexed].sort()) {
      const packFile = path.join(dir, `${id}.pack`);
      const idxFile = path.join(dir, `${id}.idx`);
      const entries = readIndex(idxFile, packFile);
      const keep = entries.filter(([hash]) => live.has(hash) && !owned.has(hash));
      for (const [hash] of entries) if (!live.has(hash)) removed.add(hash);
      for (const [hash] of keep) owned.add(hash);
      const stat = await fs.stat(packFile).catch(() => undefined);
      if (!stat) {
        await fs.rm(idxFile, { force: true }); // an index whose pack is gone names nothing
        continue;
      }
      const size = stat.size;
      if (keep.length === entries.length && size === entries.reduce((sum, [, entry]) => sum + entry.length, 0)) continue;
      if (keep.length) {
        const rewritten = this.startPack();
        for (const [hash] of keep) rewritten.append(hash, await this.readFrom(packFile, hash, entries));
        await rewritten.finish();
      }
      await fs.rm(idxFile, { force: true });
      await fs.rm(packFile, { force: true });
      freed += size - keep.reduce((sum, [, entry]) => sum + entry.length, 0);
    }
    // Reload from disk: entries may have moved to the rewritten packs.
    this.index.clear();
    this.loadedPacks.clear();
    this.refresh();
    for (const hash of owned) removed.delete(hash);
    for (const hash of owned) kept.add(hash);
    return freed;
  }

  private async readFrom(packFile: string, hash: string, entries: [string, PackEntry][]): Promise<Buffer> {
    const entry = entries.find(([name]) => name === hash)?.[1];
    if (!entry) throw new WharfError({ code: 'failed', object: `pool ${this.dir}`, cause: `chunk ${hash} is not in ${path.basename(packFile)}` });
    const handle = await fs.open(packFile, 'r');
    try {
      const data = Buffer.alloc(entry.length);
      const { bytesRead } = await handle.read(data, 0, entry.length, entry.offset);
      if (bytesRead !== entry.length) throw new WharfError({ code: 'failed', object: `pool ${this.dir}`, cause: `pack ${path.basename(packFile)} ends before chunk ${hash}`, remedy: 'Save the image again' });
      return data;
    } finally {
      await handle.close();
    }
  }

  /** Bytes and files the pool holds (chunks: distinct ones, loose or packed; bytes: on disk). */
  async usage(): Promise<{ chunks: number; bytes: number; recipes: number }> {
    const hashes = new Set<string>();
    let bytes = 0;
    for (const name of await fs.readdir(path.join(this.dir, 'chunks'))) {
      const stat = await fs.stat(path.join(this.dir, 'chunks', name)).catch(() => undefined);
      if (!stat) continue;
      hashes.add(name.replace(/\.gz$/, ''));
      bytes += stat.size;
    }
    this.refresh();
    for (const hash of this.index.keys()) hashes.add(hash);
    for (const name of await fs.readdir(path.join(this.dir, 'packs'))) {
      if (name.endsWith('.pack')) bytes += (await fs.stat(path.join(this.dir, 'packs', name)).catch(() => undefined))?.size ?? 0;
    }
    const recipes = (await fs.readdir(path.join(this.dir, 'recipes'))).filter((name) => name.endsWith('.json')).length;
    return { chunks: hashes.size, bytes, recipes };
  }

  historyFile(host: string): string {
    const safe = host.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 80);
    return path.join(this.dir, 'history', `${safe}.jsonl`);
  }

  /** One line per sync, appended (O_APPEND writes of one line do not interleave). */
  async appendHistory(host: string, entry: object): Promise<void> {
    await fs.appendFile(this.historyFile(host), `${JSON.stringify(entry)}\n`);
  }

  async readHistory<T>(host: string, limit = 50): Promise<T[]> {
    try {
      const lines = (await fs.readFile(this.historyFile(host), 'utf8')).split('\n').filter(Boolean);
      return lines.slice(-limit).map((line) => JSON.parse(line) as T);
    } catch {
      return [];
    }
  }

  /**
   * Registers a user of the pool (a save or a sync) so gc does not free chunks under it. Announce,
   * then look: with gc doing the same in the other order, one of the two always sees the other.
   */
  async enter(): Promise<() => Promise<void>> {
    const marker = path.join(this.dir, 'active', `${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(marker, String(process.pid));
    for (;;) {
      const holder = await readPid(path.join(this.dir, 'gc.lock'));
      if (holder === undefined || !alive(holder)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return () => fs.rm(marker, { force: true });
  }

  private async lockExclusive(): Promise<() => Promise<void>> {
    const lock = path.join(this.dir, 'gc.lock');
    const holder = await readPid(lock);
    if (holder !== undefined && !alive(holder)) await fs.rm(lock, { force: true });
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
    } catch {
      throw new WharfError({ code: 'conflict', object: `pool ${this.dir}`, cause: `another garbage collection runs (pid ${holder ?? '?'})`, remedy: 'Wait for it to finish' });
    }
    const unlock = () => fs.rm(lock, { force: true });
    for (const name of await fs.readdir(path.join(this.dir, 'active'))) {
      const pid = await readPid(path.join(this.dir, 'active', name));
      if (pid !== undefined && alive(pid)) {
        await unlock();
        throw new WharfError({ code: 'conflict', object: `pool ${this.dir}`, cause: `a save or sync is using the pool (pid ${pid})`, remedy: 'Run the garbage collection again when it has finished' });
      }
      await fs.rm(path.join(this.dir, 'active', name), { force: true }); // left by a crashed process
    }
    return unlock;
  }
}

/** A pack's index; an unreadable one counts as empty (its pack is then freed by gc). */
function readIndex(idxFile: string, packFile: string): [string, PackEntry][] {
  let text: string;
  try {
    text = readFileSync(idxFile, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  if (lines[0] !== INDEX_HEAD) return [];
  const entries: [string, PackEntry][] = [];
  for (const line of lines.slice(1)) {
    const [hash, offset, length] = line.split(' ');
    if (!HEX64.test(hash ?? '') || !/^\d+$/.test(offset ?? '') || !/^\d+$/.test(length ?? '')) continue;
    entries.push([hash, { file: packFile, offset: Number(offset), length: Number(length) }]);
  }
  return entries;
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The recipes beyond the newest `keep` of each repository (`recipes` newest first, as listRecipes
 * gives them). A recipe survives when it is among the newest N of any of its repositories; untagged
 * recipes are never counted, so never dropped this way.
 */
export function olderVersions<T extends { tags: string[] }>(recipes: T[], keep: number): T[] {
  const seen = new Map<string, number>();
  const older: T[] = [];
  for (const recipe of recipes) {
    const repos = new Set(recipe.tags.map(repoOf));
    if (repos.size === 0) continue;
    let keepIt = false;
    for (const repo of repos) {
      const count = (seen.get(repo) ?? 0) + 1;
      seen.set(repo, count);
      if (count <= keep) keepIt = true;
    }
    if (!keepIt) older.push(recipe);
  }
  return older;
}

function repoOf(tag: string): string {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? tag.slice(0, colon) : tag;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
