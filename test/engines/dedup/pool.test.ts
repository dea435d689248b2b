/**
 * The local pool's pack files on a real folder: an older pool of loose chunk files keeps working
 * and is reused, a fresh Pool sees packs another one wrote, gc frees exactly the dead chunks
 * (whole packs dropped, partly dead ones rewritten, an index-less pack removed), and chunks repeated
 * within one save come back through the sync hook byte for byte. The chunk compressor: members equal
 * `zlib.gzipSync` on the worker, inline and after the worker dies; a save gives the same recipe and
 * pack whichever path compresses; a busy worker keeps the process alive, an idle one does not.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { chunkStream } from '../../../src/engines/dedup/chunker';
import { ChunkGzip, type WorkerMode } from '../../../src/engines/dedup/gzipWorker';
import { Pool } from '../../../src/engines/dedup/pool';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-pool-'));
const source = (bytes: Buffer) => Readable.from([bytes]);
const id = (digit: string) => `sha256:${digit.repeat(64)}`;
const readAll = async (pool: Pool, chunks: string[]) => Buffer.concat(await Promise.all(chunks.map((hash) => pool.readRaw(hash))));
const packsDir = (dir: string) => path.join(dir, 'packs');

describe('local pool: pack files', () => {
  after(() => fs.rmSync(work, { recursive: true, force: true }));
  const dir = path.join(work, 'pool');
  const a = randomBytes(300_000);
  const b = Buffer.concat([a.subarray(0, 200_000), randomBytes(100_000)]);

  it('reads an older pool of loose chunk files and reuses its chunks for the next version', async () => {
    let pool = await Pool.open(dir);
    const first = await pool.ingest(source(a), { imageId: id('1'), tags: ['x:1'] });
    // Turn the pack into loose chunks/<hash>.gz files, as a pool written before packs holds them.
    const index = fs.readdirSync(packsDir(dir)).find((name) => name.endsWith('.idx')) as string;
    const pack = fs.readFileSync(path.join(packsDir(dir), index.replace('.idx', '.pack')));
    for (const line of fs.readFileSync(path.join(packsDir(dir), index), 'utf8').split('\n').slice(1).filter(Boolean)) {
      const [hash, offset, length] = line.split(' ');
      fs.writeFileSync(path.join(dir, 'chunks', `${hash}.gz`), pack.subarray(Number(offset), Number(offset) + Number(length)));
    }
    for (const name of fs.readdirSync(packsDir(dir))) fs.rmSync(path.join(packsDir(dir), name));
    pool = await Pool.open(dir);
    assert.ok((await readAll(pool, first.recipe.chunks)).equals(a), 'loose chunks read back');
    const second = await pool.ingest(source(b), { imageId: id('2'), tags: ['x:2'] });
    assert.ok(second.chunksNew > 0 && second.chunksNew < second.chunksTotal, 'v2 reuses the loose chunks');
    assert.ok((await readAll(await Pool.open(dir), second.recipe.chunks)).equals(b), 'a fresh Pool reads v2 (loose + pack)');
  });

  it('gc frees exactly the dead chunks: an index-less pack goes, a partly dead pack is rewritten', async () => {
    const pool = await Pool.open(dir);
    const [v1, v2] = [await pool.findRecipe('x:1'), await pool.findRecipe('x:2')];
    assert.ok(v1 && v2);
    fs.writeFileSync(path.join(packsDir(dir), 'orphan.pack'), randomBytes(1000));
    const before = await pool.usage();
    const dropped = await pool.gc({ remove: ['x:1'] });
    const onlyV1 = new Set(v1.chunks.filter((hash) => !v2.chunks.includes(hash)));
    assert.equal(dropped.chunksRemoved, onlyV1.size);
    assert.ok(!fs.existsSync(path.join(packsDir(dir), 'orphan.pack')), 'a pack without an index is removed');
    const middle = await pool.usage();
    assert.equal(middle.bytes, before.bytes - dropped.bytesFreed);
    assert.equal(middle.chunks, before.chunks - onlyV1.size);

    const c = randomBytes(200_000);
    const d = Buffer.concat([c.subarray(0, 100_000), randomBytes(50_000)]);
    const withC = await pool.ingest(source(c), { imageId: id('3'), tags: ['y:1'] });
    const withD = await pool.ingest(source(d), { imageId: id('4'), tags: ['y:2'] });
    const full = await pool.usage();
    const rewritten = await pool.gc({ remove: ['y:1'] });
    assert.equal(rewritten.chunksRemoved, new Set(withC.recipe.chunks.filter((hash) => !withD.recipe.chunks.includes(hash))).size);
    assert.ok(rewritten.bytesFreed > 0);
    assert.equal((await pool.usage()).bytes, full.bytes - rewritten.bytesFreed);
    const fresh = await Pool.open(dir);
    assert.ok((await readAll(fresh, withD.recipe.chunks)).equals(d), 'the rewritten pack reads back');
    assert.ok((await readAll(fresh, v2.chunks)).equals(b));

    await fresh.gc({ keep: 0 });
    assert.deepEqual(await fresh.usage(), { chunks: 0, bytes: 0, recipes: 0 });
  });

  it('a chunk repeated within one save comes back through the sync hook from the pack being written', async () => {
    const repeated = Buffer.concat([a, a, a]);
    const pool = await Pool.open(path.join(work, 'repeat'));
    const members: Buffer[] = [];
    const saved = await pool.ingest(source(repeated), { imageId: id('5'), tags: ['z:1'] }, {}, async (_hash, _data, packed) => {
      members.push(zlib.gunzipSync(await packed()));
    });
    assert.ok(Buffer.concat(members).equals(repeated), 'the hook saw the save, byte for byte');
    assert.ok(saved.chunksNew < saved.chunksTotal, 'repeats are stored once');
  });
});

/** Deterministic pseudo-random bytes (SHA-256 in counter mode). */
function pseudoRandom(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, counter = 0; offset < length; offset += 32, counter++) createHash('sha256').update(`${seed}-${counter}`).digest().copy(out, offset);
  return out;
}

/** ~6 MB: random runs, a repeat of the first MB (dedups), a zero run, text and a short tail. */
function mixedImage(): Buffer {
  const random = pseudoRandom(4 << 20, 'image');
  const text = Buffer.from(Array.from({ length: 20000 }, (_, index) => `line ${index % 997} of a config file\n`).join(''));
  return Buffer.concat([random.subarray(0, 1 << 20), text, random.subarray(0, 1 << 20), Buffer.alloc(500_000), random.subarray(1 << 20), Buffer.alloc(777, 7)]);
}

/** Chunk sizes that cross batch boundaries, including an empty chunk and one larger than a batch. */
function sampleChunks(): Buffer[] {
  const random = pseudoRandom(3 << 20, 'chunks');
  const chunks: Buffer[] = [Buffer.alloc(0), Buffer.from('a')];
  for (let offset = 0, size = 2048; offset + size <= random.length; offset += size, size = 2048 + ((size * 7) % 60000)) {
    chunks.push(size % 3 === 0 ? Buffer.alloc(size, size & 0xff) : random.subarray(offset, offset + size));
  }
  chunks.push(pseudoRandom(1_500_000, 'big'));
  return chunks;
}

describe('chunk compressor: same members as zlib.gzipSync on every path', () => {
  const chunks = sampleChunks();

  for (const [mode, level] of [['always', 6], ['always', 1], ['never', 6], ['auto', 9]] as [WorkerMode, number][]) {
    it(`${mode}, level ${level}: every member equals gzipSync, handed back in order`, async () => {
      const gz = new ChunkGzip(level, mode);
      try {
        const order: number[] = [];
        const members = await Promise.all(chunks.map((chunk, index) => gz.gzip(chunk).then((member) => (order.push(index), member))));
        assert.equal(gz.usingWorker, mode !== 'never', mode === 'never' ? 'no worker when forced inline' : 'the worker compressed');
        assert.deepEqual(order, chunks.map((_, index) => index), 'in the order they were added');
        for (const [index, chunk] of chunks.entries()) assert.ok(members[index].equals(zlib.gzipSync(chunk, { level })), `member ${index} (${chunk.length} B)`);
      } finally {
        gz.close();
      }
    });
  }

  it('a caller awaiting one chunk at a time gets it without filling a batch (no deadlock)', async () => {
    const gz = new ChunkGzip(6, 'always');
    try {
      for (const chunk of chunks.slice(0, 20)) assert.ok((await gz.gzip(chunk)).equals(zlib.gzipSync(chunk, { level: 6 })));
      assert.ok(gz.usingWorker);
    } finally {
      gz.close();
    }
  });

  it('bounds what is in flight: room() makes the producer wait, then lets it go on', async () => {
    const gz = new ChunkGzip(6, 'always');
    try {
      const chunk = pseudoRandom(64 * 1024, 'room');
      const pending: Promise<Buffer>[] = [];
      let done = 0;
      let waited = 0;
      for (let index = 0; index < 200; index++) {
        pending.push(gz.gzip(chunk).then((member) => (done++, member)));
        const room = gz.room();
        if (room) {
          waited++;
          await room;
        }
        // 4 MiB in flight at most, plus the chunk that crossed the bound.
        assert.ok(pending.length - done <= 4 * 16 + 1, `${pending.length - done} chunks in flight`);
      }
      assert.ok(waited > 0, 'the producer had to wait');
      for (const member of await Promise.all(pending)) assert.ok(member.equals(zlib.gzipSync(chunk, { level: 6 })));
    } finally {
      gz.close();
    }
  });

  it('the worker dying mid-way: what it owed is compressed here, same bytes', async () => {
    const gz = new ChunkGzip(6, 'always');
    try {
      const pending = chunks.map((chunk) => gz.gzip(chunk));
      gz.flush();
      const worker = (gz as unknown as { worker: Worker }).worker;
      assert.ok(worker, 'a worker was started');
      await worker.terminate();
      const members = await Promise.all(pending);
      assert.equal(gz.usingWorker, false, 'later batches stay on this thread');
      for (const [index, chunk] of chunks.entries()) assert.ok(members[index].equals(zlib.gzipSync(chunk, { level: 6 })), `member ${index}`);
      assert.ok((await gz.gzip(chunks[5])).equals(zlib.gzipSync(chunks[5], { level: 6 })), 'and after');
    } finally {
      gz.close();
    }
  });

  it('a busy worker keeps the process alive until its members are back; an idle one lets it exit', () => {
    // A child process whose only pending work is the worker's: it must print, then exit on its own (no close()).
    const modulePath = require.resolve('../../../src/engines/dedup/gzipWorker');
    const script = [
      `const { ChunkGzip } = require(${JSON.stringify(modulePath)});`,
      "const data = require('node:crypto').randomBytes(3 << 20);",
      "const gz = new ChunkGzip(6, 'always');",
      'const jobs = [];',
      'for (let offset = 0; offset < data.length; offset += 8192) jobs.push(gz.gzip(data.subarray(offset, offset + 8192)));',
      'gz.flush();',
      "Promise.all(jobs).then((members) => console.log(`members ${members.length} ${gz.usingWorker}`));",
    ].join('\n');
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(out.trim(), 'members 384 true');
  });
});

describe('local pool: a save compresses its new chunks the same way on every path', () => {
  after(() => fs.rmSync(work, { recursive: true, force: true }));
  const image = mixedImage();

  /** What the save must record: the cutter's chunks, and the gzipSync size of each. */
  async function expected(): Promise<{ chunks: string[]; sizes: number[]; gzSizes: number[]; members: Map<string, Buffer> }> {
    const members = new Map<string, Buffer>();
    const result = { chunks: [] as string[], sizes: [] as number[], gzSizes: [] as number[], members };
    for await (const chunk of chunkStream(Readable.from([image]))) {
      if (!members.has(chunk.hash)) members.set(chunk.hash, zlib.gzipSync(chunk.data, { level: 6 }));
      result.chunks.push(chunk.hash);
      result.sizes.push(chunk.data.length);
      result.gzSizes.push((members.get(chunk.hash) as Buffer).length);
    }
    return result;
  }

  it('the recipe, the pack and every packed() member are the same with the worker, inline and auto', async () => {
    const want = await expected();
    assert.ok(want.members.size < want.chunks.length, 'the image repeats chunks');
    const packs: Buffer[] = [];
    for (const mode of ['always', 'never', 'auto'] as WorkerMode[]) {
      const dir = path.join(work, `modes-${mode}`);
      const pool = await Pool.open(dir, { gzipWorker: mode });
      const hooked: Promise<[string, Buffer]>[] = [];
      // Like a sync: the hook does not wait for the member, so batches fill.
      const saved = await pool.ingest(Readable.from([image]), { imageId: id('6'), tags: [`m:${mode}`] }, {}, (hash, _data, packed) => {
        hooked.push(packed().then((member) => [hash, member]));
      });
      assert.deepEqual(saved.recipe.chunks, want.chunks, `${mode}: chunks`);
      assert.deepEqual(saved.recipe.sizes, want.sizes, `${mode}: sizes`);
      assert.deepEqual(saved.recipe.gzSizes, want.gzSizes, `${mode}: gzSizes`);
      assert.equal(saved.chunksNew, want.members.size);
      const members = await Promise.all(hooked);
      assert.equal(members.length, want.chunks.length, 'packed() resolved for every chunk');
      for (const [hash, member] of members) assert.ok(member.equals(want.members.get(hash) as Buffer), `${mode}: packed() of ${hash}`);
      const packFiles = fs.readdirSync(packsDir(dir)).filter((name) => name.endsWith('.pack'));
      assert.equal(packFiles.length, 1);
      packs.push(fs.readFileSync(path.join(packsDir(dir), packFiles[0])));
      const fresh = await Pool.open(dir);
      for (const [hash, member] of want.members) assert.ok((await fresh.readChunk(hash)).equals(member), `${mode}: stored ${hash}`);
    }
    // New members in stream order, whichever thread compressed them.
    const inOrder = Buffer.concat([...want.members.values()]);
    for (const pack of packs) assert.ok(pack.equals(inOrder), 'the pack is the members in first-seen order');
  });

  it('a hook that awaits each member before the next chunk (one chunk per batch) finishes with the same recipe', async () => {
    const want = await expected();
    const pool = await Pool.open(path.join(work, 'serial'), { gzipWorker: 'always' });
    let seen = 0;
    const saved = await pool.ingest(Readable.from([image]), { imageId: id('7'), tags: ['s:1'] }, {}, async (hash, _data, packed) => {
      assert.ok((await packed()).equals(want.members.get(hash) as Buffer));
      seen++;
    });
    assert.equal(seen, want.chunks.length);
    assert.deepEqual(saved.recipe.gzSizes, want.gzSizes);
  });

  it('a cancelled save keeps the members compressed so far, each equal to gzipSync', async () => {
    const want = await expected();
    const dir = path.join(work, 'cancelled');
    const pool = await Pool.open(dir, { gzipWorker: 'always' });
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      pool.ingest(Readable.from([image]), { imageId: id('9'), tags: ['c:1'] }, { signal: controller.signal }, () => {
        if (++seen === 300) controller.abort();
      }),
      (error: Error & { code?: string }) => error.code === 'cancelled',
    );
    const fresh = await Pool.open(dir);
    const kept = want.chunks.filter((hash) => fresh.chunkSizeNow(hash) !== undefined);
    assert.ok(kept.length >= 300 - 1 && kept.length < want.chunks.length, `${kept.length} chunks kept`);
    for (const hash of new Set(kept)) assert.ok((await fresh.readChunk(hash)).equals(want.members.get(hash) as Buffer));
    assert.equal((await fresh.listRecipes()).length, 0, 'no recipe for a cancelled save');
  });

  it('loose chunks are listed at open: sizes come from the listing, gc keeps it in step, a later file is still found', async () => {
    const dir = path.join(work, 'loose');
    let pool = await Pool.open(dir);
    const data = pseudoRandom(200_000, 'loose');
    const saved = await pool.ingest(Readable.from([data]), { imageId: id('8'), tags: ['l:1'] });
    const index = fs.readdirSync(packsDir(dir)).find((name) => name.endsWith('.idx')) as string;
    const pack = fs.readFileSync(path.join(packsDir(dir), index.replace('.idx', '.pack')));
    const entries = fs.readFileSync(path.join(packsDir(dir), index), 'utf8').split('\n').slice(1).filter(Boolean).map((line) => line.split(' '));
    const [late, ...loose] = entries;
    for (const [hash, offset, length] of loose) fs.writeFileSync(path.join(dir, 'chunks', `${hash}.gz`), pack.subarray(Number(offset), Number(offset) + Number(length)));
    for (const name of fs.readdirSync(packsDir(dir))) fs.rmSync(path.join(packsDir(dir), name));
    pool = await Pool.open(dir);
    for (const [hash, , length] of loose) assert.equal(pool.chunkSizeNow(hash), Number(length));
    // Written after open: not in the listing, so only the async lookup (which stats) finds it.
    fs.writeFileSync(path.join(dir, 'chunks', `${late[0]}.gz`), pack.subarray(Number(late[1]), Number(late[1]) + Number(late[2])));
    assert.equal(pool.chunkSizeNow(late[0]), undefined);
    assert.equal(await pool.chunkSize(late[0]), Number(late[2]));
    assert.equal(pool.chunkSizeNow(late[0]), Number(late[2]));
    assert.ok((await readAll(pool, saved.recipe.chunks)).equals(data));
    const freed = await pool.gc({ remove: ['l:1'] });
    assert.equal(freed.chunksRemoved, entries.length);
    for (const [hash] of entries) assert.equal(pool.chunkSizeNow(hash), undefined, 'gc dropped it from the listing');
    assert.equal(fs.readdirSync(path.join(dir, 'chunks')).length, 0);
  });
});
