/**
 * The local pool's pack files on a real folder: an older pool of loose chunk files keeps working
 * and is reused, a fresh Pool sees packs another one wrote, gc frees exactly the dead chunks
 * (whole packs dropped, partly dead ones rewritten, an index-less pack removed), and chunks repeated
 * within one save come back through the sync hook byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
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
