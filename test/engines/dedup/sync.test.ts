/**
 * Deduplicated sync against the lab: the local engine, sshd and the remote engine in their netns.
 * The remote engine's socket is used only as an oracle (is the image there, with which id).
 * Each run uses its own remote pool folder and image names, and removes them afterwards.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { isWharfError } from '../../../src/engines/core/errors';
import { Pool, recipeFingerprint } from '../../../src/engines/dedup/pool';
import { gcHostPool } from '../../../src/engines/dedup/hostGc';
import { syncImage, syncHistory, type SyncFigures, type SyncOptions } from '../../../src/engines/dedup/sync';
import { ensureLab, type LabEndpoints } from '../../lab/lab';
import { buildPair, removeImages } from './images';

const run = promisify(execFile);

describe('dedup sync over SSH (lab)', () => {
  let lab: LabEndpoints;
  let local: Docker;
  let remoteOracle: Docker;
  const id = randomBytes(4).toString('hex');
  const repo = `wharf-dedup-test-${id}`;
  const v1 = `${repo}:1`;
  const v2 = `${repo}:2`;
  let work: string;
  let poolDir: string;
  let remoteDir: string;
  let noGzipBin: string;
  const figures: Record<string, SyncFigures> = {};

  const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({
    docker: local,
    poolDir,
    host: lab.ssh.alias,
    sshConfigFile: lab.ssh.configFile,
    remote: { dir: remoteDir },
    ...extra,
  });
  const remoteId = async (ref: string) => (await remoteOracle.getImage(ref).inspect().catch(() => undefined))?.Id;
  const dropRemote = async (ref: string) => remoteOracle.getImage(ref).remove({ force: true }).catch(() => undefined);

  before(async () => {
    lab = (await ensureLab()).endpoints;
    assert.ok(!lab.docker.local.external, 'the dedup tests run only against the lab engine');
    local = new Docker({ socketPath: lab.docker.local.socket });
    remoteOracle = new Docker({ socketPath: lab.docker.remote.socket });
    // One filesystem here: the "remote" is sshd in a network namespace, so its folders are ours too.
    work = await fs.mkdtemp(path.join(os.tmpdir(), `wharf-dedup-${id}-`));
    poolDir = path.join(work, 'local-pool');
    remoteDir = path.join(work, 'remote-pool');
    await buildPair(lab.docker.local.host, lab.images.busybox, v1, v2, { baseBytes: 600 * 1024, appBytes: 40 * 1024 });
  });

  after(async () => {
    await removeImages(lab.docker.local.host, [v2, v1, `${repo}:gc`, `${repo}:gc-unused`]);
    await removeImages(lab.docker.remote.host, [v2, v1, `${repo}:gc`]);
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  it('a first sync sends every chunk and loads the same image id', async () => {
    const seen: SyncFigures[] = [];
    const result = await syncImage(v1, options({ onFigures: (f) => seen.push(f) }));
    figures.first = result;
    const recipe = await (await Pool.open(poolDir)).findRecipe(v1);
    assert.ok(recipe);
    assert.equal(result.chunksTotal, new Set(recipe.chunks).size);
    assert.equal(result.chunksPresent, 0);
    assert.equal(result.chunksSent, result.chunksTotal);
    assert.equal(result.verified, true);
    assert.equal(result.phase, 'done');
    assert.equal(await remoteId(v1), (await local.getImage(v1).inspect()).Id);
    assert.ok(result.wireBytes > 0 && result.saveGzipBytes > 0);
    assert.ok(seen.some((f) => f.phase === 'sending'));
  });

  it('version 2 sends only the chunks version 1 lacks, and its id is checked on the host', async () => {
    const pool = await Pool.open(poolDir);
    const result = await syncImage(v2, options());
    figures.second = result;
    const r1 = await pool.findRecipe(v1);
    const r2 = await pool.findRecipe(v2);
    assert.ok(r1 && r2);
    const had = new Set(r1.chunks);
    const expected = new Set(r2.chunks.filter((hash) => !had.has(hash))).size;
    assert.equal(result.chunksSent, expected);
    assert.equal(result.chunksPresent, result.chunksTotal - expected);
    assert.ok(result.chunksSent < result.chunksTotal / 4, `${result.chunksSent} of ${result.chunksTotal} chunks sent`);
    assert.ok(result.wireBytes < figures.first.wireBytes / 3, `v2 sent ${result.wireBytes} bytes, v1 ${figures.first.wireBytes}`);
    assert.equal(result.verified, true);
    assert.equal(await remoteId(v2), (await local.getImage(v2).inspect()).Id);
    const again = await syncImage(v2, options());
    assert.equal(again.upToDate, true);
    assert.equal(again.chunksSent, 0);
  });

  it('an interrupted sync, resumed, sends only what did not arrive', async () => {
    const fresh = { dir: path.join(work, 'remote-pool-interrupted') };
    await dropRemote(v1);
    const controller = new AbortController();
    let sentBeforeAbort = 0;
    await assert.rejects(
      syncImage(v1, options({
        remote: fresh,
        signal: controller.signal,
        onFigures: (f) => {
          if (f.phase === 'sending' && f.chunksSent >= f.chunksTotal / 2 && !controller.signal.aborted) {
            sentBeforeAbort = f.chunksSent;
            controller.abort();
          }
        },
      })),
      (error) => isWharfError(error, 'cancelled'),
    );
    assert.ok(sentBeforeAbort > 0);
    assert.equal(await remoteId(v1), undefined, 'nothing was loaded by the interrupted sync');
    const resumed = await syncImage(v1, options({ remote: fresh }));
    assert.ok(resumed.chunksPresent > 0, 'the chunks that arrived were kept');
    assert.equal(resumed.chunksSent, resumed.chunksTotal - resumed.chunksPresent);
    assert.ok(resumed.chunksSent < resumed.chunksTotal, `resumed sync sent ${resumed.chunksSent} of ${resumed.chunksTotal}`);
    // A cancelled stream still ends with the segment being filled, so everything taken arrived.
    assert.ok(resumed.chunksPresent >= sentBeforeAbort, `${resumed.chunksPresent} kept, ${sentBeforeAbort} sent before the abort`);
    assert.equal(resumed.verified, true);
    assert.equal(await remoteId(v1), (await local.getImage(v1).inspect()).Id);
  });

  it('a damaged segment on the host is found by its hash and its chunks are re-sent', async () => {
    await dropRemote(v2);
    const pool = await Pool.open(poolDir);
    const recipe = await pool.findRecipe(v2);
    const r1 = await pool.findRecipe(v1);
    assert.ok(recipe && r1);
    // A chunk of v2's own layer: docker load skips the layers the host's engine still has from v1
    // without reading them, so damage there surfaces (and is repaired) only when a load needs it.
    const own = recipe.chunks.filter((hash) => !r1.chunks.includes(hash));
    const victim = own[Math.floor(own.length / 2)];
    // The host keeps chunks in segments (a tar each) listed by segs/<name>.idx.
    const segs = path.join(remoteDir, 'segs');
    let damaged: string | undefined;
    for (const name of await fs.readdir(segs)) {
      if (name.endsWith('.idx') && (await fs.readFile(path.join(segs, name), 'utf8')).split('\n').includes(victim)) damaged = name.slice(0, -4);
    }
    assert.ok(damaged, 'the chunk is in a segment on the host');
    const held = (await fs.readFile(path.join(segs, `${damaged}.idx`), 'utf8')).split('\n').filter(Boolean);
    const file = path.join(segs, damaged);
    await fs.writeFile(file, randomBytes((await fs.stat(file)).size));
    const result = await syncImage(v2, options());
    const needed = new Set(recipe.chunks.filter((hash) => held.includes(hash)));
    assert.equal(result.repaired, needed.size, 'the chunks the image takes from the damaged segment were sent again');
    assert.equal(result.chunksSent, needed.size);
    assert.equal(result.chunksPresent, result.chunksTotal, 'the damaged chunks were there by name');
    assert.equal(result.verified, true);
    assert.equal(await remoteId(v2), (await local.getImage(v2).inspect()).Id);
    // Dropped, then (holding the same chunks) sent again whole: whatever is there now is sound.
    for (const name of (await fs.readdir(segs)).filter((entry) => !entry.endsWith('.idx'))) {
      assert.equal(createHash('sha256').update(await fs.readFile(path.join(segs, name))).digest('hex'), name);
    }
    const history = await syncHistory(poolDir, lab.ssh.alias);
    assert.ok(history.length >= 4);
    assert.equal(history[history.length - 1].imageId, recipe.imageId);
  });

  it('without sha256sum on the host, segments are pulled back and checked here', async () => {
    // Every tool but sha256sum: damage is then found by reading the segments back over SSH.
    const bin = path.join(work, 'bin-without-sha256sum');
    await fs.mkdir(bin);
    for (const tool of ['sh', 'cat', 'gzip', 'tar', 'docker', 'mkdir', 'mv', 'rm']) {
      const { stdout } = await run('sh', ['-c', 'command -v "$1"', 'sh', tool]);
      await fs.symlink(stdout.trim(), path.join(bin, tool));
    }
    await dropRemote(v2);
    const recipe = await (await Pool.open(poolDir)).findRecipe(v2);
    assert.ok(recipe);
    // The first segment v2's plan on the host names.
    const plan = await fs.readFile(path.join(remoteDir, 'plans', recipeFingerprint(recipe.chunks)), 'utf8');
    const segs = path.join(remoteDir, 'segs');
    const file = path.join(segs, plan.slice(0, 64));
    await fs.writeFile(file, randomBytes((await fs.stat(file)).size));
    const result = await syncImage(v2, options({ remote: { dir: remoteDir, path: bin }, verifyAll: true }));
    assert.ok(result.repaired > 0, 'chunks of the damaged segment were sent again');
    assert.equal(result.verified, true);
    assert.equal(await remoteId(v2), (await local.getImage(v2).inspect()).Id);
    for (const name of (await fs.readdir(segs)).filter((entry) => !entry.endsWith('.idx'))) {
      assert.equal(createHash('sha256').update(await fs.readFile(path.join(segs, name))).digest('hex'), name);
    }
  });

  it('garbage collection on the host drops an image and frees the segments only it used', async () => {
    // An image of its own beside v1 and v2 (busybox plus random bytes): its segments serve only it.
    const extra = `${repo}:gc`;
    await buildPair(lab.docker.local.host, lab.images.busybox, extra, `${repo}:gc-unused`, { baseBytes: 64 * 1024, appBytes: 200 * 1024 });
    await syncImage(extra, options());
    const pool = await Pool.open(poolDir);
    const r1 = await pool.findRecipe(extra);
    assert.ok(r1);
    const plans = path.join(remoteDir, 'plans');
    const segsOf = async (fingerprint: string) => new Set((await fs.readFile(path.join(plans, fingerprint), 'utf8')).split('\n').filter(Boolean).map((line) => line.slice(0, 64)));
    const kept = (await fs.readdir(plans)).filter((name) => /^[0-9a-f]{64}$/.test(name) && name !== recipeFingerprint(r1.chunks));
    // Beside each plan, when and as what it was synced: any machine's gc can name it.
    const tagsLine = await fs.readFile(path.join(plans, `${recipeFingerprint(r1.chunks)}.tags`), 'utf8');
    assert.equal(tagsLine, `${r1.createdAt} ${r1.imageId} ${extra}\n`);
    const used = new Set<string>();
    for (const fingerprint of kept) for (const seg of await segsOf(fingerprint)) used.add(seg);
    const segs = path.join(remoteDir, 'segs');
    const before = (await fs.readdir(segs)).filter((name) => !name.endsWith('.idx'));
    assert.ok(before.some((seg) => !used.has(seg)), 'some segment serves only that image');

    // A sync in progress (this process's pid is alive) makes gc refuse, touching nothing.
    const live = path.join(remoteDir, 'incoming', 'live-test');
    await fs.mkdir(live, { recursive: true });
    await fs.writeFile(path.join(live, '.pid'), `${process.pid}\n`);
    const gcOptions = { poolDir, host: lab.ssh.alias, sshConfigFile: lab.ssh.configFile, remote: { dir: remoteDir }, remove: [extra] };
    await assert.rejects(gcHostPool(gcOptions), (error) => isWharfError(error, 'conflict') && /sync to it is running/.test(error.message));
    assert.equal((await fs.readdir(segs)).filter((name) => !name.endsWith('.idx')).length, before.length);
    await fs.rm(live, { recursive: true });

    const result = await gcHostPool(gcOptions);
    assert.deepEqual(result.plansDropped, [recipeFingerprint(r1.chunks)]);
    assert.ok(!(await fs.readdir(plans)).includes(`${recipeFingerprint(r1.chunks)}.tags`), 'its names went with it');
    assert.deepEqual(new Set(result.plansKept), new Set(kept));
    assert.equal(result.segmentsFreed, before.filter((seg) => !used.has(seg)).length);
    assert.deepEqual(new Set((await fs.readdir(segs)).filter((name) => !name.endsWith('.idx'))), new Set(before.filter((seg) => used.has(seg))));
    await pool.gc({ remove: [extra] }); // the local pool as the next test expects it
    // v2 still rebuilds from what is left: nothing travels.
    await dropRemote(v2);
    const again = await syncImage(v2, options());
    assert.equal(again.chunksSent, 0);
    assert.equal(again.verified, true);
    assert.equal(await remoteId(v2), (await local.getImage(v2).inspect()).Id);

    // --keep 1 from another machine's pool (empty here): of v1 and v2 (one repository), the host
    // keeps the newer plan only, named and ordered by what the syncs left on the host.
    const [p1, p2] = [await pool.findRecipe(v1), await pool.findRecipe(v2)];
    assert.ok(p1 && p2);
    const otherPool = await fs.mkdtemp(path.join(os.tmpdir(), 'wharf-other-pool-'));
    const older = await gcHostPool({ ...gcOptions, poolDir: otherPool, remove: undefined, keep: 1 }).finally(() => fs.rm(otherPool, { recursive: true, force: true }));
    assert.deepEqual(older.plansDropped, [recipeFingerprint(p1.chunks)]);
    assert.ok(older.plansKept.includes(recipeFingerprint(p2.chunks)));
    await dropRemote(v2);
    assert.equal((await syncImage(v2, options())).chunksSent, 0, 'v2 still rebuilds from what is left');
  });

  it('garbage collection drops old versions and frees the chunks nobody uses', async () => {
    const pool = await Pool.open(poolDir);
    const r1 = await pool.findRecipe(v1);
    const r2 = await pool.findRecipe(v2);
    assert.ok(r1 && r2);
    const onlyV1 = new Set(r1.chunks.filter((hash) => !r2.chunks.includes(hash)));
    const before = await pool.usage();
    const first = await pool.gc({ remove: [v1] });
    assert.deepEqual(first.recipesRemoved, [r1.imageId]);
    assert.equal(first.chunksRemoved, onlyV1.size);
    const middle = await pool.usage();
    assert.equal(middle.chunks, before.chunks - onlyV1.size);
    assert.equal(middle.bytes, before.bytes - first.bytesFreed);
    assert.equal(middle.recipes, before.recipes - 1);
    const second = await pool.gc({ keep: 0 });
    assert.equal(second.chunksRemoved, new Set(r2.chunks).size);
    assert.deepEqual(await pool.usage(), { chunks: 0, bytes: 0, recipes: 0 });
  });

  it('a host without gzip gets a clear error and nothing is sent', async () => {
    // The remote side runs `env PATH=<dir> sh -c ...`: a folder holding every tool but gzip.
    noGzipBin = path.join(work, 'bin-without-gzip');
    await fs.mkdir(noGzipBin);
    for (const tool of ['sh', 'cat', 'tar', 'docker', 'mkdir', 'mv', 'rm']) {
      const { stdout } = await run('sh', ['-c', 'command -v "$1"', 'sh', tool]);
      await fs.symlink(stdout.trim(), path.join(noGzipBin, tool));
    }
    const dir = path.join(work, 'remote-pool-no-gzip');
    await dropRemote(v1);
    await assert.rejects(syncImage(v1, options({ remote: { dir, path: noGzipBin } })), (error) => {
      assert.ok(isWharfError(error, 'unsupported'));
      assert.match(error.message, /missing gzip/);
      assert.match(error.message, /Install gzip/);
      return true;
    });
    await assert.rejects(fs.stat(dir), 'the remote pool was not even created');
    const last = (await syncHistory(poolDir, lab.ssh.alias)).pop();
    assert.equal(last?.ok, false);
    assert.match(last?.error ?? '', /gzip/);
  });
});
