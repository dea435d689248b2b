import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { Transform } from 'node:stream';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { connectEngine } from '../../../src/engines/docker/client';
import { parseHost } from '../../../src/engines/docker/endpoint';
import { copyImage } from '../../../src/engines/promote/copy';
import { promote } from '../../../src/engines/promote/promote';
import { loadPipeline, nextStage } from '../../../src/engines/promote/stages';
import { readPromotions } from '../../../src/engines/promote/record';
import { RegistryClient, sha256 } from '../../../src/engines/registry/client';
import { staticCredentials } from '../../../src/engines/registry/credentials';
import { parseReference } from '../../../src/engines/registry/reference';
import { MediaTypes } from '../../../src/engines/registry/manifest';
import { dockerCli, type LabEndpoints } from '../../lab/lab';
import { buildAndPush, droppingProxy, lab, pushSyntheticImage, pushTwoPlatformIndex, removeLocal, startBasicAuthRegistry, startOwnRegistry, startTokenAuthRegistry, unique } from '../registry/fixtures';

describe('promote registry to registry (lab test → stage)', () => {
  let e: LabEndpoints;
  let test: RegistryClient;
  let stage: RegistryClient;
  const id = unique();
  const built = () => `${e.registries.test.address}/wharf-test/app-${id}:1`;
  before(async () => {
    e = await lab();
    test = new RegistryClient({ registry: e.registries.test.address });
    stage = new RegistryClient({ registry: e.registries.stage.address });
    // A real multi-layer image built by the lab's engine and pushed with docker.
    await buildAndPush(e, built(), { layers: 3, layerKb: 256 });
  });
  after(async () => {
    if (e) await removeLocal(e, built());
  });

  it('copies every blob, keeps the digest, then skips every blob the second time', async () => {
    const source = parseReference(built());
    const target = parseReference(`${e.registries.stage.address}/wharf-test/app-${id}:1`);
    const first = await copyImage({ source, target });
    const manifest = await test.getManifest(source.repository, '1');
    const blobs = (JSON.parse(manifest.bytes.toString()) as { layers: unknown[] }).layers.length + 1;
    assert.equal(first.digest, manifest.digest, 'target digest equals the source digest');
    assert.equal(first.copied, blobs);
    assert.equal(first.skipped + first.mounted, 0);
    assert.equal(first.bytes, first.totalBytes, 'every byte moved once');
    assert.equal((await stage.headManifest(target.repository, '1'))?.digest, manifest.digest);

    const again = await copyImage({ source, target: { ...target, tag: '1-again' } });
    assert.deepEqual([again.copied, again.skipped, again.mounted, again.bytes], [0, blobs, 0, 0]);
    assert.equal(again.digest, manifest.digest);
  });

  it('mounts across repositories on the same registry (no bytes move)', async () => {
    const summary = await copyImage({ source: parseReference(built()), target: parseReference(`${e.registries.test.address}/wharf-test/mounted-${id}:1`) });
    assert.ok(summary.mounted >= 4, `mounted ${summary.mounted}`);
    assert.equal(summary.copied, 0);
    assert.equal(summary.bytes, 0);
  });

  it('moves only the layers the destination lacks', async () => {
    const shared = [Buffer.alloc(50_000, 1), Buffer.alloc(50_000, 2)].map((b, i) => Buffer.concat([b, Buffer.from(id + i)]));
    const repo = `wharf-test/partial-${id}`;
    await pushSyntheticImage(test, repo, 'v1', { layerBlobs: shared });
    await copyImage({ source: parseReference(`${e.registries.test.address}/${repo}:v1`), target: parseReference(`${e.registries.stage.address}/${repo}:v1`) });
    const fresh = Buffer.from(`new layer ${id}`.repeat(1000));
    await pushSyntheticImage(test, repo, 'v2', { layerBlobs: [...shared, fresh] });
    const summary = await copyImage({ source: parseReference(`${e.registries.test.address}/${repo}:v2`), target: parseReference(`${e.registries.stage.address}/${repo}:v2`) });
    assert.equal(summary.skipped, 2);
    assert.equal(summary.copied, 2, 'the new layer and the new config');
    const config = JSON.parse((await test.getManifest(repo, 'v2')).bytes.toString()) as { config: { size: number } };
    assert.equal(summary.bytes, fresh.length + config.config.size);
  });

  it('cancel mid-copy leaves no tag at the target, and the next run completes', async () => {
    const repo = `wharf-test/cancel-${id}`;
    await pushSyntheticImage(test, repo, '1', { layers: 6, layerSize: 2_000_000 });
    const controller = new AbortController();
    const target = parseReference(`${e.registries.stage.address}/${repo}:1`);
    let sawBytes = 0;
    await assert.rejects(
      copyImage({
        source: parseReference(`${e.registries.test.address}/${repo}:1`),
        target,
        parallel: 2,
        signal: controller.signal,
        onBlob: (event) => {
          if (event.state === 'progress' && (sawBytes += event.bytes) > 0 && !controller.signal.aborted) controller.abort();
        },
      }),
      (error: unknown) => isWharfError(error, 'cancelled'),
    );
    assert.ok(sawBytes > 0, 'cancelled while bytes were flowing');
    assert.equal(await stage.headManifest(repo, '1'), undefined, 'no tag points at a half-pushed image');
    const tags = await RegistryClient.collect(stage.tags(repo)).catch(() => []);
    assert.deepEqual(tags, []);
    const done = await copyImage({ source: parseReference(`${e.registries.test.address}/${repo}:1`), target });
    assert.equal(done.copied + done.skipped, 7);
  });

  it('restarts a blob whose source connection drops mid-copy (socket to socket)', async () => {
    const repo = `wharf-test/dropped-${id}`;
    const image = await pushSyntheticImage(test, repo, '1', { layers: 1, layerSize: 600_000 });
    const proxy = await droppingProxy(e.registries.test.address, 200_000);
    try {
      const warnings: string[] = [];
      const log = { trace: () => undefined, info: () => undefined, warn: (line: string) => warnings.push(line), error: () => undefined };
      const summary = await copyImage({ source: parseReference(`${proxy.address}/${repo}:1`), target: parseReference(`${e.registries.stage.address}/${repo}:1`), log });
      assert.equal(proxy.cuts(), 1, 'the link dropped once');
      assert.equal(summary.digest, image.digest);
      assert.equal(summary.copied, 2);
      assert.equal(summary.bytes, image.layers[0].length + image.config.length, 'progress wound back: bytes count each blob once');
      assert.ok(warnings.some((line) => /restarting/.test(line)), warnings.join('\n'));
      assert.equal((await stage.headManifest(repo, '1'))?.digest, image.digest);
    } finally {
      await proxy.close();
    }
  });

  it('restarts an interrupted blob upload cleanly (streamed through Node http)', async () => {
    const repo = `wharf-test/restart-${id}`;
    const image = await pushSyntheticImage(test, repo, '1', { layers: 1, layerSize: 300_000 });
    let broken = 0;
    // The first read of the layer dies after 64 KB, as a dropped connection would.
    class FlakySource extends RegistryClient {
      override async getBlob(repository: string, digest: string, signal?: AbortSignal) {
        const blob = await super.getBlob(repository, digest, signal);
        if (broken > 0 || digest !== sha256(image.layers[0])) return blob;
        broken++;
        let sent = 0;
        const cut = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            sent += chunk.length;
            if (sent > 65_536) return callback(new Error('socket hang up (simulated)'));
            callback(null, chunk);
          },
        });
        blob.stream.pipe(cut);
        return { stream: cut as unknown as typeof blob.stream, size: blob.size };
      }
    }
    const warnings: string[] = [];
    const log = { trace: () => undefined, info: () => undefined, warn: (line: string) => warnings.push(line), error: () => undefined };
    const summary = await copyImage({
      source: parseReference(`${e.registries.test.address}/${repo}:1`),
      target: parseReference(`${e.registries.stage.address}/${repo}:1`),
      sourceClient: new FlakySource({ registry: e.registries.test.address }),
      log,
      pipe: false,
    });
    assert.equal(broken, 1);
    assert.equal(summary.digest, image.digest);
    assert.equal(summary.bytes, image.layers[0].length + image.config.length, 'progress wound back: bytes count each blob once');
    assert.ok(warnings.some((line) => /restarting/.test(line)));
  });

  it('copies a two-platform index whole (same digest) or one platform of it', async () => {
    const repo = `wharf-test/multi-${id}`;
    const index = await pushTwoPlatformIndex(test, repo, 'multi');
    const whole = await copyImage({ source: parseReference(`${e.registries.test.address}/${repo}:multi`), target: parseReference(`${e.registries.stage.address}/${repo}:multi`) });
    assert.equal(whole.digest, index.digest);
    assert.deepEqual(whole.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(whole.copied, 6, '2 layers + config per platform');
    for (const child of Object.values(index.children)) assert.ok(await stage.headManifest(repo, child), `child ${child} is at the target`);

    const arm = await copyImage({ source: parseReference(`${e.registries.test.address}/${repo}:multi`), target: parseReference(`${e.registries.stage.address}/${repo}-arm:1`), platforms: ['linux/arm64'] });
    assert.equal(arm.digest, index.children['linux/arm64'], 'one platform: that image, its digest unchanged');
    assert.equal(arm.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    await assert.rejects(copyImage({ source: parseReference(`${e.registries.test.address}/${repo}:multi`), target: parseReference(`${e.registries.stage.address}/${repo}-s390x:1`), platforms: ['linux/s390x'] }), /no manifest for linux\/s390x.*linux\/amd64, linux\/arm64/);
  });

  it('fails clearly when the destination refuses auth, and leaves no tag', async () => {
    const locked = await startBasicAuthRegistry('carol', 'pw');
    try {
      const target = parseReference(`${locked.address}/team/app:1`);
      await assert.rejects(copyImage({ source: parseReference(built()), target }), (error: unknown) => isWharfError(error, 'unauthorized') && /docker login/.test(error.remedy ?? ''));
      const withCreds = new RegistryClient({ registry: locked.address, credentials: staticCredentials({ [locked.address]: { username: 'carol', password: 'pw' } }) });
      assert.equal(await withCreds.headManifest('team/app', '1'), undefined);
      const ok = await copyImage({ source: parseReference(built()), target, targetClient: withCreds });
      assert.equal(ok.digest, (await test.headManifest(parseReference(built()).repository, '1'))?.digest);
    } finally {
      await locked.stop();
    }
  });

  it('a read-only destination (read-only account, read-only registry) fails clearly and leaves no tag', async () => {
    const issuer = await startTokenAuthRegistry({ writer: 'w', reader: 'r' }, 'reader');
    const frozen = await startOwnRegistry({ storage: { maintenance: { readonly: { enabled: true } } } });
    try {
      const address = issuer.registry.address;
      const reader = new RegistryClient({ registry: address, credentials: staticCredentials({ [address]: { username: 'reader', password: 'r' } }) });
      await assert.rejects(
        copyImage({ source: parseReference(built()), target: parseReference(`${address}/team/app:1`), targetClient: reader }),
        (error: unknown) => isWharfError(error) && ['unauthorized', 'forbidden'].includes(error.code) && error.message.includes(`${address}/team/app`) && !!error.remedy,
      );
      const writer = new RegistryClient({ registry: address, credentials: staticCredentials({ [address]: { username: 'writer', password: 'w' } }) });
      assert.equal(await writer.headManifest('team/app', '1'), undefined, 'no tag at the read-only destination');

      await assert.rejects(copyImage({ source: parseReference(built()), target: parseReference(`${frozen.address}/team/app:1`) }), (error: unknown) => {
        assert.ok(isWharfError(error), String(error));
        assert.match(error.message, new RegExp(`${frozen.address}/team/app`));
        assert.match(`${error.reason} ${error.remedy}`, /does not allow/);
        assert.match(error.remedy ?? "", /read-only/);
        return true;
      });
      assert.equal(await new RegistryClient({ registry: frozen.address }).headManifest('team/app', '1'), undefined);
    } finally {
      await issuer.stop();
      await frozen.stop();
    }
  });

  it('a digest that differs after the copy (someone pushed at the same time) fails and says so', async () => {
    const repo = `wharf-test/race-${id}`;
    const theirs = await pushSyntheticImage(stage, repo, 'theirs', { layers: 1, layerSize: 1000 });
    // Another pipeline tags its own image the moment ours lands.
    class RacedTarget extends RegistryClient {
      override async putManifest(repository: string, ref: string, bytes: Buffer, mediaType: string, signal?: AbortSignal) {
        const pushed = await super.putManifest(repository, ref, bytes, mediaType, signal);
        if (ref === 'raced') await super.putManifest(repository, ref, theirs.manifest, MediaTypes.ociManifest, signal);
        return pushed;
      }
    }
    await assert.rejects(
      copyImage({ source: parseReference(built()), target: parseReference(`${e.registries.stage.address}/${repo}:raced`), targetClient: new RacedTarget({ registry: e.registries.stage.address }) }),
      (error: unknown) => isWharfError(error, 'failed') && /digest mismatch after the copy/.test(error.message) && /do not deploy/.test(error.remedy ?? ''),
    );
  });

  it('bad inputs: unknown source, missing tag, same source and target, no registry in target', async () => {
    const cases: [string, string, string, RegExp][] = [
      [`${e.registries.test.address}/wharf-test/nothing-${id}:1`, `${e.registries.stage.address}/x:1`, 'not-found', /registry has no such image/],
      [`${e.registries.test.address}/wharf-test/app-${id}:nope`, `${e.registries.stage.address}/x:1`, 'not-found', /no such image/],
      [built(), built(), 'bad-input', /same/],
      [built(), 'team/app:1', 'bad-input', /names no registry/],
      ['Bad:ref', `${e.registries.stage.address}/x:1`, 'bad-input', /image reference/],
    ];
    for (const [source, target, code, message] of cases) {
      await assert.rejects(promote({ source, target, via: 'auto' }), (error: unknown) => isWharfError(error, code as 'bad-input') && message.test(error.message), `${source} → ${target}`);
    }
  });
});

describe('promote through the engine, stages, gates and records', () => {
  let e: LabEndpoints;
  let workspace: string;
  const id = unique();
  before(async () => {
    e = await lab();
    workspace = await mkdtemp(path.join(os.tmpdir(), 'wharf-ws-'));
  });
  after(async () => {
    if (workspace) await rm(workspace, { recursive: true, force: true });
  });
  const docker = () => connectEngine(parseHost(e.docker.local.host));

  it('pulls, tags, pushes, removes the pulled tag and prunes, reporting each step', async () => {
    const source = `${e.registries.test.address}/wharf-test/engine-${id}:1`;
    await buildAndPush(e, source, { layers: 2, layerKb: 64 });
    await removeLocal(e, source);
    const messages: string[] = [];
    const result = await promote({ source, target: `${e.registries.stage.address}/wharf-test/engine-${id}:1`, via: 'engine', docker, progress: { report: (update) => update.message && messages.push(update.message) }, recordIn: workspace, who: 'tester' });
    assert.equal(result.via, 'engine');
    assert.deepEqual(result.steps?.map((step) => step.step), ['pull', 'tag', 'push', 'remove-source-tag', 'prune']);
    assert.equal(result.steps?.find((step) => step.step === 'remove-source-tag')?.skipped, undefined);
    for (const name of ['pull:', 'tag:', 'push:', 'prune:']) assert.ok(messages.some((message) => message.startsWith(name)), `reported ${name}`);
    const stage = new RegistryClient({ registry: e.registries.stage.address });
    const test = new RegistryClient({ registry: e.registries.test.address });
    const pushed = JSON.parse((await stage.getManifest(`wharf-test/engine-${id}`, '1')).bytes.toString()) as { config: { digest: string } };
    const original = JSON.parse((await test.getManifest(`wharf-test/engine-${id}`, '1')).bytes.toString()) as { config: { digest: string } };
    assert.equal(pushed.config.digest, original.config.digest, 'same image (config digest) at the stage');
    await assert.rejects(dockerCli(e.docker.local.host, ['image', 'inspect', source]), 'the pulled source tag is gone');
    const records = await readPromotions(workspace);
    assert.equal(records[0].via, 'engine');
    assert.equal(records[0].who, 'tester');
    await removeLocal(e, `${e.registries.stage.address}/wharf-test/engine-${id}:1`);
  });

  it('chooses the engine for a local-only image, the registry for a registry image', async () => {
    const local = `wharf-local-${id}:1`;
    await dockerCli(e.docker.local.host, ['tag', e.images.busybox, local]);
    try {
      const viaEngine = await promote({ source: local, target: `${e.registries.stage.address}/wharf-test/local-${id}:1`, docker, cleanup: false });
      assert.equal(viaEngine.via, 'engine');
      assert.equal(viaEngine.steps?.[0].skipped, true, 'nothing to pull');
      const viaRegistry = await promote({ source: `${e.registries.stage.address}/wharf-test/local-${id}:1`, target: `${e.registries.test.address}/wharf-test/local-${id}:back`, docker });
      assert.equal(viaRegistry.via, 'registry');
      assert.equal(viaRegistry.digest, viaRegistry.sourceDigest);
    } finally {
      await removeLocal(e, local, `${e.registries.stage.address}/wharf-test/local-${id}:1`);
    }
  });

  it('a failing gate stops the push; a passing one lets it through and the promotion is recorded', async () => {
    const test = new RegistryClient({ registry: e.registries.test.address });
    const repo = `wharf-test/gated-${id}`;
    const image = await pushSyntheticImage(test, repo, '1');
    const source = `${e.registries.test.address}/${repo}:1`;
    const target = `${e.registries.stage.address}/${repo}:1`;
    await assert.rejects(promote({ source, target, gate: { command: ['sh', '-c', 'echo "tests failed" >&2; exit 3'] }, recordIn: workspace }), (error: unknown) => isWharfError(error, 'failed') && /exit 3.*tests failed/.test(error.message) && /Nothing was pushed/.test(error.remedy ?? ''));
    assert.equal(await new RegistryClient({ registry: e.registries.stage.address }).headManifest(repo, '1'), undefined);
    await assert.rejects(promote({ source, target, gate: { http: { url: `${e.registries.test.url}/v2/no-such/tags/list` } } }), /answered 404/);
    const result = await promote({ source, target, gate: { command: ['sh', '-c', 'test "$WHARF_DIGEST" = "$1"', 'gate', image.digest], http: { url: `${e.registries.test.url}/v2/` } }, stage: 'stage', recordIn: workspace, who: 'ci' });
    assert.equal(result.digest, image.digest);
    assert.match(result.gate ?? '', /passed.*answered 200/);
    const lines = (await readFile(path.join(workspace, '.wharf', 'promotions.jsonl'), 'utf8')).trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    assert.equal(last.sourceDigest, image.digest);
    assert.equal(last.targetDigest, image.digest);
    assert.equal(last.target, target);
    assert.equal(last.stage, 'stage');
    assert.equal(last.who, 'ci');
    assert.ok(!Number.isNaN(Date.parse(String(last.time))));
  });

  it('reads the pipeline and finds the next stage', async () => {
    await mkdir(path.join(workspace, '.wharf'), { recursive: true });
    await writeFile(path.join(workspace, '.wharf', 'pipeline.json'), JSON.stringify({ stages: [{ name: 'test', registry: e.registries.test.address }, { name: 'stage', registry: e.registries.stage.address, gate: { command: ['true'] } }, { name: 'prod', registry: 'registry.example.com' }] }));
    const pipeline = await loadPipeline(workspace);
    assert.ok(pipeline);
    assert.equal(nextStage(pipeline, e.registries.test.address).name, 'stage');
    assert.deepEqual(nextStage(pipeline, e.registries.test.address).gate, { command: ['true'] });
    assert.throws(() => nextStage(pipeline, 'registry.example.com'), /last stage/);
    assert.throws(() => nextStage(pipeline, 'elsewhere.example.com'), /not a stage/);
    await writeFile(path.join(workspace, '.wharf', 'pipeline.json'), '{"stages": [{"name": "x"}]}');
    await assert.rejects(loadPipeline(workspace), /has no registry/);
  });
});
