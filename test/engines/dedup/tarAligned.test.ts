/** Tar-aligned cuts: every outer member starts a chunk, so an inserted member costs only its own bytes. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Cutter, DEFAULT_CHUNKER } from '../../../src/engines/dedup/chunker';
import { TarAlignedCutter, memberSize } from '../../../src/engines/dedup/tarAligned';
import { TAR_END, tarHeader, tarPadding } from '../../../src/engines/dedup/tarWriter';

function bytes(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length + 32);
  for (let offset = 0, counter = 0; offset < length; offset += 32, counter++) createHash('sha256').update(`${seed}-${counter}`).digest().copy(out, offset);
  return out.subarray(0, length);
}

type Member = [name: string, data: Buffer];

/** A tar of `members` and the offset where each member's header starts. */
function tar(members: Member[]): { data: Buffer; starts: number[] } {
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let offset = 0;
  for (const [name, data] of members) {
    starts.push(offset);
    for (const part of [tarHeader(name, data.length), data, tarPadding(data.length)]) {
      parts.push(part);
      offset += part.length;
    }
  }
  parts.push(TAR_END);
  return { data: Buffer.concat(parts), starts };
}

function cuts(data: Buffer, piece: number, aligned = true): Buffer[] {
  const cutter = aligned ? new TarAlignedCutter(new Cutter(DEFAULT_CHUNKER)) : new Cutter(DEFAULT_CHUNKER);
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += piece) cutter.push(data.subarray(offset, offset + piece), out);
  cutter.end(out);
  return out;
}

const boundaries = (chunks: Buffer[]) => chunks.reduce<number[]>((list, chunk) => [...list, (list.at(-1) ?? 0) + chunk.length], []);
const hashes = (chunks: Buffer[]) => chunks.map((chunk) => createHash('sha256').update(chunk).digest('hex'));

/** Members shaped like a `docker save`: layer folders, small json files, one big layer each. */
const layer = (id: string, size: number): Member[] => [
  [`${id}/VERSION`, Buffer.from('1.0')],
  [`${id}/json`, bytes(700, `json-${id}`)],
  [`${id}/layer.tar`, bytes(size, `layer-${id}`)],
];

describe('tar-aligned chunking', () => {
  const v1Members: Member[] = [...layer('a1', 900_000), ...layer('c3', 400_000), ['config.json', bytes(1500, 'config-1')], ['manifest.json', bytes(300, 'manifest-1')]];
  const v1 = tar(v1Members);

  it('cuts before and after every member header, keeps every byte, and cuts alike whatever the read sizes', () => {
    const chunks = cuts(v1.data, 65536);
    const ends = new Set(boundaries(chunks));
    for (const start of v1.starts.slice(1)) assert.ok(ends.has(start), `a chunk ends where the member at ${start} starts`);
    for (const start of v1.starts) assert.ok(ends.has(start + 512), `a chunk ends after the header at ${start}`);
    assert.deepEqual(Buffer.concat(chunks), v1.data);
    for (const piece of [1, 511, 513, 100_000]) assert.deepEqual(hashes(cuts(v1.data, piece)), hashes(chunks), `pieces of ${piece}`);
  });

  it('a member inserted between others costs its own bytes only', () => {
    const inserted = layer('b2', 256 * 1024);
    const v2Members: Member[] = [...v1Members.slice(0, 3), ...inserted, ...v1Members.slice(3, 6), ['config.json', bytes(1500, 'config-2')], ['manifest.json', bytes(300, 'manifest-2')]];
    const v2 = tar(v2Members);
    const newBytes = (aligned: boolean) => {
      const known = new Set(hashes(cuts(v1.data, 65536, aligned)));
      const chunks = cuts(v2.data, 65536, aligned);
      return hashes(chunks).reduce((sum, hash, index) => sum + (known.has(hash) ? 0 : chunks[index].length), 0);
    };
    // New: the inserted members' three headers, json (padded) and layer data, and the contents of
    // config.json and manifest.json. Not new: the VERSION content (v1 has it) and the headers of
    // config.json and manifest.json (same name, size and mtime).
    const changed = 3 * 512 + 1024 + 256 * 1024 + 1536 + 512;
    assert.equal(newBytes(true), changed);
    assert.ok(newBytes(false) > changed + 8 * 1024, `content-defined cuts alone send more (${newBytes(false)} > ${changed})`);
  });

  it('a layer folder renamed and restamped costs its headers only', () => {
    // docker save names a layer's folder after the image above it, so v2 renames v1's top layer.
    const renamed = v1Members.map(([name, data]): Member => [name.replace(/^c3\//, 'c4/'), data]);
    const known = new Set(hashes(cuts(v1.data, 65536)));
    const chunks = cuts(tar(renamed).data, 65536);
    const fresh = chunks.filter((chunk, index) => !known.has(hashes(chunks)[index]));
    assert.deepEqual(fresh.map((chunk) => chunk.length), [512, 512, 512]);
  });

  it('anything that is not a tar is cut exactly as the plain chunker cuts it', () => {
    const data = bytes(2 << 20, 'not-a-tar');
    assert.deepEqual(hashes(cuts(data, 65536)), hashes(cuts(data, 65536, false)));
  });

  it('reads octal and base-256 sizes and refuses a bad checksum', () => {
    const header = tarHeader('x', 1234);
    assert.equal(memberSize(header), 1234);
    const corrupt = Buffer.from(header);
    corrupt[0] ^= 1;
    assert.equal(memberSize(corrupt), undefined);
    assert.equal(memberSize(Buffer.alloc(512)), undefined);
    const big = Buffer.from(header);
    big.fill(0, 124, 136);
    big[124] = 0x80;
    big.writeUIntBE(9 * 2 ** 30, 130, 6);
    big.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of big) sum += byte;
    big.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    assert.equal(memberSize(big), 9 * 2 ** 30);
  });
});
