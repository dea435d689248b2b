/**
 * Promotion benchmark on the lab's registries: a 5-layer ~100 MB image copied test → stage by
 * Wharf (registry to registry), by `skopeo copy`, and by pull/tag/push through the lab's engine
 * (docker CLI), each into a fresh registry per run, Wharf and skopeo taking turns; median of 5 runs. Then a second image that
 * shares 4 of its 5 layers: the bytes that reach the stage registry are counted by a TCP proxy in
 * front of it and compared with the new layer's size. Digests at the destination are checked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { copyImage } from '../../src/engines/promote/copy';
import { RegistryClient } from '../../src/engines/registry/client';
import { parseReference } from '../../src/engines/registry/reference';
import { dockerCli, ensureLab } from '../lab/lab';
import { startOwnRegistry, tcpProxy, type OwnRegistry } from '../engines/registry/fixtures';
import { execFileAsync, median, printBenchTable, timeInterleaved, timeRuns } from './support';

const RUNS = Number(process.env.WHARF_BENCH_RUNS ?? 5);
const LAYER_MB = 20;

/** A TCP proxy that counts the bytes clients send to `target` (the upload direction). */
async function countingProxy(target: string): Promise<{ address: string; sent(): number; close(): Promise<void> }> {
  let sent = 0;
  const proxy = await tcpProxy(target, { onUpload: (bytes) => (sent += bytes) });
  return { ...proxy, sent: () => sent };
}

async function build(host: string, busybox: string, ref: string, fifth: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-bench-'));
  try {
    const lines = [`FROM ${busybox}`];
    // Four layers with fixed seeds (the build cache and the registry share them), a fifth that differs.
    for (let i = 0; i < 4; i++) lines.push(`RUN dd if=/dev/urandom of=/data${i} bs=1M count=${LAYER_MB} 2>/dev/null # shared ${i}`);
    lines.push(`RUN dd if=/dev/urandom of=/data4 bs=1M count=${LAYER_MB} 2>/dev/null # ${fifth}`);
    await writeFile(path.join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
    await dockerCli(host, ['build', '-q', '-t', ref, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    await dockerCli(host, ['push', ref]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { endpoints: e } = await ensureLab();
  const host = e.docker.local.host;
  const test = e.registries.test.address;
  const stage = e.registries.stage.address;
  const id = Date.now().toString(36);
  const sourceA = `${test}/bench/promote:a-${id}`;
  const sourceB = `${test}/bench/promote:b-${id}`;
  process.stderr.write('building and pushing the 5-layer image…\n');
  await build(host, e.images.busybox, sourceA, `a-${id}`);
  await build(host, e.images.busybox, sourceB, `b-${id}`);
  const testClient = new RegistryClient({ registry: test });
  const stageClient = new RegistryClient({ registry: stage });
  const manifestA = JSON.parse((await testClient.getManifest('bench/promote', `a-${id}`)).bytes.toString()) as { layers: { size: number; digest: string }[]; config: { size: number } };
  const digestA = (await testClient.headManifest('bench/promote', `a-${id}`))?.digest;
  const imageBytes = manifestA.layers.reduce((sum, layer) => sum + layer.size, 0) + manifestA.config.size;

  // Every timed run copies into a fresh, empty registry of its own: no tool can mount or skip
  // blobs left by an earlier run (skopeo's blob-info cache and docker's push metadata would).
  let fresh: OwnRegistry | undefined;
  const freshRegistry = async () => {
    await fresh?.stop();
    fresh = await startOwnRegistry();
  };
  const digests: string[] = [];
  const skopeoArgs = (dest: string) => ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${sourceA}`, `docker://${dest}/bench/promote:a`];
  const skopeoDigests: (string | undefined)[] = [];
  const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js');
  const cliArgs = (dest: string) => [cli, 'promote', sourceA, `${dest}/bench/promote:a`, '--via', 'registry'];
  const [wharf, skopeo, wharfCli] = await timeInterleaved(RUNS, [
    {
      setup: freshRegistry,
      work: async () => {
        const summary = await copyImage({ source: parseReference(sourceA), target: parseReference(`${fresh?.address}/bench/promote:a`) });
        digests.push(summary.digest);
      },
    },
    {
      setup: freshRegistry,
      work: async () => {
        await execFileAsync('skopeo', skopeoArgs(fresh?.address ?? ''), { maxBuffer: 16 * 1024 * 1024 });
        skopeoDigests.push((await new RegistryClient({ registry: fresh?.address ?? '' }).headManifest('bench/promote', 'a'))?.digest);
      },
    },
    {
      // The CLI as a pipeline runs it: a whole process, its start-up included, like skopeo's.
      setup: freshRegistry,
      work: async () => {
        await execFileAsync(process.execPath, cliArgs(fresh?.address ?? ''), { maxBuffer: 16 * 1024 * 1024 });
        digests.push((await new RegistryClient({ registry: fresh?.address ?? '' }).headManifest('bench/promote', 'a'))?.digest ?? 'none');
      },
    },
  ]);

  // Engine path: the engine starts without the image each time (removed untimed), as on a fresh CI runner.
  let engineTarget = '';
  const engine = await timeRuns(
    RUNS,
    async () => {
      await dockerCli(host, ['pull', '-q', sourceA]);
      await dockerCli(host, ['tag', sourceA, engineTarget]);
      await dockerCli(host, ['push', '-q', engineTarget]);
    },
    async () => {
      // The engine starts without the image's layers (B shares them, so it goes too).
      await dockerCli(host, ['rmi', '-f', sourceA, sourceB, ...(engineTarget ? [engineTarget] : [])]).catch(() => undefined);
      await freshRegistry();
      engineTarget = `${fresh?.address}/bench/promote:a`;
    },
  );
  await dockerCli(host, ['rmi', '-f', engineTarget]).catch(() => undefined);
  await fresh?.stop();

  // Dedup: A then B into one fresh repository, through a counting proxy in front of the stage registry.
  const proxy = await countingProxy(stage);
  const dedupRepo = `bench/dedup-${id}`;
  const proxied = (tag: string) => ({ ...parseReference(`${proxy.address}/${dedupRepo}:${tag}`) });
  await copyImage({ source: parseReference(sourceA), target: proxied('a') });
  const before = proxy.sent();
  const summaryB = await copyImage({ source: parseReference(sourceB), target: proxied('b') });
  const sentB = proxy.sent() - before;
  await proxy.close();
  const manifestB = JSON.parse((await testClient.getManifest('bench/promote', `b-${id}`)).bytes.toString()) as { layers: { size: number; digest: string }[]; config: { size: number } };
  const shared = manifestB.layers.filter((layer) => manifestA.layers.some((other) => other.digest === layer.digest)).length;
  const newLayer = manifestB.layers.find((layer) => !manifestA.layers.some((other) => other.digest === layer.digest));
  const digestB = (await testClient.headManifest('bench/promote', `b-${id}`))?.digest;
  const stageB = (await stageClient.headManifest(dedupRepo, 'b'))?.digest;

  await dockerCli(host, ['rmi', '-f', sourceA, sourceB]).catch(() => undefined);
  await dockerCli(host, ['image', 'prune', '-f']).catch(() => undefined);

  const mb = imageBytes / 1e6;
  const ok = printBenchTable(
    `promote: ${manifestA.layers.length}-layer image (busybox + 5) of ${mb.toFixed(0)} MB, lab test → stage registry (median of ${RUNS})`,
    [
      { metric: 'registry → registry vs skopeo', wharf: median(wharf) / 1000, peer: median(skopeo) / 1000, unit: 's', peerCommand: `skopeo ${skopeoArgs('<fresh registry>').join(' ')}`, target: { ratio: 0.8 } },
      { metric: 'wharf promote CLI process vs skopeo', wharf: median(wharfCli) / 1000, peer: median(skopeo) / 1000, unit: 's', peerCommand: `node dist/cli.js ${cliArgs('<fresh registry>').slice(1).join(' ')} vs skopeo, both whole processes (information: Node's start-up is in it)` },
      { metric: 'registry → registry vs engine pull/tag/push', wharf: median(wharf) / 1000, peer: median(engine) / 1000, unit: 's', peerCommand: `docker -H ${host} pull ${sourceA} && docker tag … && docker push <fresh registry>/bench/promote:a`, target: { ratio: 0.3 } },
      { metric: `second image (${shared}/${manifestB.layers.length} layers shared): bytes sent to the stage registry`, wharf: sentB / 1e6, peer: ((newLayer?.size ?? 0) + manifestB.config.size) / 1e6, unit: 'MB', peerCommand: 'new layer + config size (the floor)', target: { ratio: 1.01 } },
    ],
    [
      'wharf = the engine in-process, as the extension host runs it; wharf CLI = node dist/cli.js, start-up included',
      `runs (s): wharf CLI ${wharfCli.map((t) => (t / 1000).toFixed(2)).join(', ')}; wharf ${wharf.map((t) => (t / 1000).toFixed(2)).join(', ')}; skopeo ${skopeo.map((t) => (t / 1000).toFixed(2)).join(', ')}; engine ${engine.map((t) => (t / 1000).toFixed(2)).join(', ')}`,
      `second image: copied ${summaryB.copied}, skipped ${summaryB.skipped}; Wharf counted ${(summaryB.bytes / 1e6).toFixed(2)} MB of blob bytes; the proxy saw ${(sentB / 1e6).toFixed(2)} MB including HTTP headers and the manifest`,
      `digest equality: source ${digestA}; wharf targets ${digests.every((digest) => digest === digestA) ? 'all equal' : `DIFFER: ${digests.join(', ')}`}; skopeo targets ${skopeoDigests.every((digest) => digest === digestA) ? 'all equal' : `differ: ${skopeoDigests.join(', ')}`}; second image ${stageB === digestB ? 'equal' : `DIFFERS (${stageB} vs ${digestB})`}`,
    ],
  );
  const digestsOk = digests.every((digest) => digest === digestA) && stageB === digestB;
  return ok && digestsOk ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
