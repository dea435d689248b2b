/** The chunker alone: same bytes give the same cuts, an insertion moves only nearby cuts, sizes stay in bounds. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Chunker, DEFAULT_CHUNKER, GEAR, chunkStream, type ChunkerParams } from '../../../src/engines/dedup/chunker';

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
});
