/** The chunker alone: same bytes give the same cuts, an insertion moves only nearby cuts, sizes stay in bounds. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Chunker, Cutter, DEFAULT_CHUNKER, GEAR, chunkStream, findCut, type ChunkerParams } from '../../../src/engines/dedup/chunker';
import { hashPipelined, type WorkerMode } from '../../../src/engines/dedup/hashPipeline';

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so boundaries are comparable across runs. */
function bytes(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, counter = 0; offset < length; offset += 32, counter++) {
    createHash('sha256').update(`${seed}-${counter}`).digest().copy(out, offset);
  }
  return out;
}

function cut(data: Buffer, params: ChunkerParams = DEFAULT_CHUNKER, piece = 65536): { hash: string; size: number }[] {
  const chunker = new Chunker(params);
  const chunks = [];
  for (let offset = 0; offset < data.length; offset += piece) chunks.push(...chunker.push(data.subarray(offset, offset + piece)));
  chunks.push(...chunker.end());
  return chunks.map((chunk) => ({ hash: chunk.hash, size: chunk.data.length }));
}

/** Random runs, zero runs and repeats: cuts inside content, forced cuts at max, and a short tail. */
function mixed(): Buffer {
  const random = bytes(3 << 20, 'mixed');
  return Buffer.concat([random.subarray(0, 1 << 20), Buffer.alloc(300000), random.subarray(0, 1 << 20), Buffer.from('x'.repeat(100000)), random.subarray(1 << 20), Buffer.alloc(777)]);
}

const fingerprint = (chunks: { hash: string; size: number }[]) => createHash('sha256').update(chunks.map((chunk) => `${chunk.hash}:${chunk.size}`).join('\n')).digest('hex');

async function streamed(data: Buffer, piece: number, params: ChunkerParams = DEFAULT_CHUNKER, mode: WorkerMode = 'auto'): Promise<{ hash: string; size: number }[]> {
  async function* pieces() {
    for (let offset = 0; offset < data.length; offset += piece) yield data.subarray(offset, offset + piece);
  }
  const out = [];
  for await (const chunk of hashPipelined(pieces(), new Cutter(params), mode)) out.push({ hash: chunk.hash, size: chunk.data.length });
  return out;
}

describe('dedup chunker', () => {
  const data = bytes(4 << 20, 'base');

  it('has a fixed gear table', () => {
    assert.equal(GEAR.length, 256);
    assert.equal(new Set(GEAR).size, 256);
    // Pinned: a changed table would silently stop every existing pool from deduplicating.
    assert.equal(GEAR[0], 382820910);
    assert.equal(GEAR[255], 3823372440);
  });

  it('cuts the same bytes the same way whatever the read sizes', () => {
    const a = cut(data, DEFAULT_CHUNKER, 65536);
    const b = cut(data, DEFAULT_CHUNKER, 1000);
    const c = cut(data, DEFAULT_CHUNKER, 1 << 20);
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    assert.equal(a.reduce((sum, chunk) => sum + chunk.size, 0), data.length);
    const average = data.length / a.length;
    assert.ok(average > 6 * 1024 && average < 14 * 1024, `average chunk ${average} bytes, expected near 8 KiB`);
  });

  it('respects min and max sizes (only the last chunk may be short)', () => {
    const params = { minSize: 2048, avgSize: 8192, maxSize: 32768 };
    const zeros = Buffer.alloc(1 << 20); // no content boundaries at all: every chunk is cut at max
    const flat = cut(zeros, params);
    assert.ok(flat.slice(0, -1).every((chunk) => chunk.size === params.maxSize));
    const chunks = cut(data, params);
    for (const chunk of chunks.slice(0, -1)) {
      assert.ok(chunk.size >= params.minSize && chunk.size <= params.maxSize, `chunk of ${chunk.size} bytes`);
    }
    assert.ok(cut(Buffer.alloc(100), params).length === 1);
    assert.equal(cut(Buffer.alloc(0), params).length, 0);
  });

  it('an insertion changes only the chunks next to it', () => {
    const before = cut(data);
    const at = 2 << 20;
    const changed = Buffer.concat([data.subarray(0, at), Buffer.from('a few inserted bytes'), data.subarray(at)]);
    const after = cut(changed);
    const old = new Set(before.map((chunk) => chunk.hash));
    const fresh = after.filter((chunk) => !old.has(chunk.hash));
    assert.ok(fresh.length >= 1 && fresh.length <= 3, `${fresh.length} new chunks after one insertion`);
    assert.ok(after.length - fresh.length >= before.length - 3);
  });

  it('streams a Readable with the same result', async () => {
    const streamed = [];
    for await (const chunk of chunkStream(Readable.from([data.subarray(0, 12345), data.subarray(12345)]))) streamed.push({ hash: chunk.hash, size: chunk.data.length });
    assert.deepEqual(streamed, cut(data));
  });

  it('refuses parameters that cannot work', () => {
    assert.throws(() => new Chunker({ minSize: 8192, avgSize: 8192, maxSize: 65536 }), RangeError);
    assert.throws(() => new Chunker({ minSize: 2048, avgSize: 6000, maxSize: 65536 }), RangeError);
  });

  it('keeps the cut points and hashes of the first implementation (pinned)', async () => {
    // Chunks of mixed() as the original byte-by-byte findCut + createHash cut them: 444 chunks.
    const pinned = '175d4bd7e1a490486df9b30d0bc6af19b0b3cd058bb55c3d495758a50f7dd232';
    const data = mixed();
    assert.equal(data.length, 4595081);
    const chunks = cut(data);
    assert.equal(chunks.length, 444);
    assert.equal(fingerprint(chunks), pinned);
    assert.equal(fingerprint(cut(data, DEFAULT_CHUNKER, 777)), pinned);
    assert.equal(fingerprint(await streamed(data, 65536)), pinned);
    assert.equal(fingerprint(await streamed(data, 5000)), pinned);
    assert.equal(fingerprint(await streamed(data, 65536, DEFAULT_CHUNKER, 'always')), pinned);
    assert.equal(fingerprint(await streamed(data, 65536, DEFAULT_CHUNKER, 'never')), pinned);
  });

  it('the streaming cutter agrees with findCut on every boundary, for other parameters too', () => {
    const data = mixed();
    for (const params of [DEFAULT_CHUNKER, { minSize: 1000, avgSize: 4096, maxSize: 20000 }]) {
      const expected: number[] = [];
      for (let start = 0; start < data.length; ) {
        const at = findCut(data, start, data.length, params, true);
        expected.push(at - start);
        start = at;
      }
      for (const piece of [1, 4096, 65536, 1 << 20]) {
        if (piece === 1 && params !== DEFAULT_CHUNKER) continue;
        const cutter = new Cutter(params);
        const out: Buffer[] = [];
        for (let offset = 0; offset < data.length; offset += piece) cutter.push(data.subarray(offset, offset + piece), out);
        cutter.end(out);
        assert.deepEqual(out.map((chunk) => chunk.length), expected, `pieces of ${piece} bytes, params ${JSON.stringify(params)}`);
        assert.ok(Buffer.concat(out).equals(data));
      }
    }
  });

  it('hashes on the worker thread give the same chunks, in order, over a long stream', async () => {
    // 24 MB: many 1 MiB batches go through the worker, more than it may hold in flight at once.
    const random = bytes(8 << 20, 'long');
    const data = Buffer.concat([random, Buffer.alloc(4 << 20), random, random.subarray(12345)]);
    const viaWorker = await streamed(data, 65536, DEFAULT_CHUNKER, 'always');
    assert.deepEqual(viaWorker, cut(data, DEFAULT_CHUNKER, 1 << 20));
    assert.equal(viaWorker.reduce((sum, chunk) => sum + chunk.size, 0), data.length);
    const spot = viaWorker[viaWorker.length - 1];
    assert.equal(spot.hash, createHash('sha256').update(data.subarray(data.length - spot.size)).digest('hex'));
  });

  it('a consumer that stops early ends the stream cleanly', async () => {
    let seen = 0;
    for await (const chunk of chunkStream(Readable.from([bytes(6 << 20, 'early')]))) {
      assert.equal(chunk.hash.length, 64);
      if (++seen === 10) break;
    }
    assert.equal(seen, 10);
  });
});
