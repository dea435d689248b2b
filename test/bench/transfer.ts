/**
 * Send to Host against `docker save IMG | ssh HOST docker load` (OpenSSH), in the same run, on the
 * lab's remote engine (behind sshd in its own network namespace):
 *   1. a ~200 MB image, full send: time (median of 3, the image removed on the host between runs);
 *   2. v2 (v1 + a 20 MB layer) to a host that has v1: bytes on the wire vs the new layer's bytes;
 *   3. RSS growth of this (Wharf) process during the sends.
 */
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import { ensureLab } from '../lab/lab';
import { dockerCli } from '../lab/lab';
import { labEnv } from '../lab/processes';
import { openHost } from '../../src/engines/transfer/host';
import { formatBytes } from '../../src/engines/transfer/pump';
import { sendImage, type SendResult } from '../../src/engines/transfer/send';
import { execFileAsync, median, printBenchTable } from './support';

const V1 = 'wharf-bench/transfer:v1';
const V2 = 'wharf-bench/transfer:v2';
const BLOB = 200_000_000;
const NEW_LAYER = 20_000_000;
// The shared 2-core machine is noisy: 5 runs make the median steadier (WHARF_BENCH_RUNS to change).
const RUNS = Math.max(3, Number(process.env.WHARF_BENCH_RUNS ?? 5));

async function main(): Promise<number> {
  const { endpoints: lab } = await ensureLab();
  const local = lab.docker.local.host;
  const remote = lab.docker.remote.host;
  const build = (tag: string, dockerfile: string) => dockerCli(local, ['build', '--quiet', '--tag', tag, '-'], { input: dockerfile, env: labEnv({ DOCKER_BUILDKIT: '0' }) });
  const removeRemote = async () => {
    for (const tag of [V2, V1]) await dockerCli(remote, ['image', 'rm', '--force', tag]).catch(() => undefined);
  };
  const docker = new Docker({ socketPath: lab.docker.local.socket });
  const host = await openHost({ host: lab.ssh.alias, configFile: lab.ssh.configFile });
  let peak = 0;
  const baseline = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    process.stdout.write(`building ${V1} (busybox + ${formatBytes(BLOB)} of random data) and ${V2} (+ ${formatBytes(NEW_LAYER)})…\n`);
    await build(V1, `FROM ${lab.images.busybox}\nRUN head -c ${BLOB} /dev/urandom > /blob\n`);
    await build(V2, `FROM ${V1}\nRUN head -c ${NEW_LAYER} /dev/urandom > /blob2\n`);
    const archiveBytes = Number((await execFileAsync('bash', ['-c', `docker -H ${local} save ${V1} | wc -c`], { env: labEnv() })).stdout.trim());

    // 1. Throughput, alternating Wharf and OpenSSH so neither always runs on a warmer cache.
    const peerCommand = `docker -H ${local} save ${V1} | ssh -F ${lab.ssh.configFile} ${lab.ssh.alias} docker load`;
    const wharfMs: number[] = [];
    const peerMs: number[] = [];
    let last: SendResult | undefined;
    for (let run = 0; run < RUNS; run++) {
      await removeRemote();
      let started = performance.now();
      last = await sendImage({ docker, ssh: host.client, host: host.name, image: V1, full: true });
      wharfMs.push(performance.now() - started);
      await removeRemote();
      started = performance.now();
      await execFileAsync('bash', ['-o', 'pipefail', '-c', peerCommand], { env: labEnv(), maxBuffer: 1 << 20 });
      peerMs.push(performance.now() - started);
    }
    const wharfRate = archiveBytes / (median(wharfMs) / 1000) / 1e6;
    const peerRate = archiveBytes / (median(peerMs) / 1000) / 1e6;

    // 2. v2 after v1: the host has v1 (from the last OpenSSH run), Wharf sends only the new layer.
    const v2 = await sendImage({ docker, ssh: host.client, host: host.name, image: V2 });
    const v2Archive = Number((await execFileAsync('bash', ['-c', `docker -H ${local} save ${V2} | wc -c`], { env: labEnv() })).stdout.trim());
    const remoteId = (await dockerCli(remote, ['image', 'inspect', '--format', '{{.Id}}', V2])).trim();
    const rssGrowth = (peak - baseline) / 1e6;

    const ok = printBenchTable(
      `Send to Host: ${formatBytes(archiveBytes)} image to the lab's remote engine over SSH (median of ${RUNS})`,
      [
        { metric: `full send ${V1}, time`, wharf: median(wharfMs) / 1000, peer: median(peerMs) / 1000, unit: 's', peerCommand, target: { ratio: 1 / 0.9 } },
        { metric: 'full send, throughput', wharf: wharfRate, peer: peerRate, unit: 'MB/s', peerCommand },
        {
          metric: `v2 after v1: bytes on the wire / new layer (${formatBytes(NEW_LAYER)})`,
          wharf: v2.wireBytes / NEW_LAYER,
          peer: v2Archive / NEW_LAYER,
          unit: '×',
          peerCommand: `docker -H ${local} save ${V2} | ssh -F ${lab.ssh.configFile} ${lab.ssh.alias} docker load`,
          target: { absolute: 1.05 },
        },
        { metric: 'RSS growth of the Wharf process', wharf: rssGrowth, unit: 'MB', target: { absolute: 100 } },
      ],
      [
        `throughput ratio wharf/OpenSSH = ${(wharfRate / peerRate).toFixed(2)}× (target ≥ 0.9×; the time row's ≤ ${(1 / 0.9).toFixed(2)}× is the same bound)`,
        `Wharf full sends use --full (every layer, like the peer); runs: wharf ${wharfMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s, OpenSSH ${peerMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`,
        `v2: ${formatBytes(v2.wireBytes)} on the wire, ${v2.layersSkipped}/${v2.layers} layers skipped, the mapping pass read ${formatBytes(v2.archiveBytes)} locally; host image id ${remoteId === v2.imageId ? 'matches' : 'DIFFERS'}`,
        `last full send: ${formatBytes(last?.wireBytes ?? 0)} on the wire`,
      ],
    );
    return ok && remoteId === v2.imageId ? 0 : 1;
  } finally {
    clearInterval(sampler);
    host.close();
    await removeRemote();
    for (const tag of [V2, V1]) await dockerCli(local, ['image', 'rm', '--force', tag]).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench transfer: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
