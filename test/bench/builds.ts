/**
 * Package cache bench: a Dockerfile on a debootstrap-made Debian base whose
 * `RUN apt-get update && apt-get install -y ...` fetches packages from Debian's mirror, built with
 * --no-cache. Peer: plain `docker build --no-cache` (every package from the mirror). Wharf: the same
 * build through its package cache (apt-cacher-ng), cold (first, fills it) and warm (second).
 * Claims: the warm build fetches ≤ 10% of the peer's package bytes from the mirror and takes
 * ≤ 0.5× its time. Medians of 3 runs; the cache is emptied before each cold build.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildOnCommit } from '../../src/engines/builds/buildOnCommit';
import { bridgeGateway, buildProxyUrl, cacheStatsMark, readCacheStats, startPackageCache, stopPackageCache, type CacheStats } from '../../src/engines/builds/packageCache';
import { connectEngine } from '../../src/engines/docker/client';
import { parseHost } from '../../src/engines/docker/endpoint';
import { dockerCli, ensureLab } from '../lab/lab';
import { ensurePackages } from '../lab/packages';
import { execFileAsync, median, printBenchTable } from './support';

const RUNS = 3;
const BASE = 'wharf-bench/debian:bookworm-minbase';
const PACKAGES = ['curl', 'ca-certificates', 'xz-utils', 'file', 'less'];
const MIRROR = 'http://deb.debian.org/debian';

/** The base image: debootstrap once (the rootfs tar is kept under .wharf-lab/cache), then docker import. */
async function ensureBase(host: string, cacheRoot: string): Promise<void> {
  if (await dockerCli(host, ['image', 'inspect', '--format', '{{.Id}}', BASE]).then(() => true, () => false)) return;
  const tar = path.join(cacheRoot, 'debian-bookworm-minbase.tar');
  if (!existsSync(tar)) {
    const rootfs = path.join(cacheRoot, `debian-bookworm-minbase.rootfs-${process.pid}`);
    process.stderr.write(`debootstrap --variant=minbase bookworm (once; kept in ${tar})\n`);
    await execFileAsync('debootstrap', ['--variant=minbase', 'bookworm', rootfs, MIRROR], { maxBuffer: 64 * 1024 * 1024 });
    await execFileAsync('tar', ['-C', rootfs, '--numeric-owner', '-cf', `${tar}.tmp`, '.']);
    await rename(`${tar}.tmp`, tar);
    await rm(rootfs, { recursive: true, force: true });
  }
  await dockerCli(host, ['import', tar, BASE]);
}

/** apt's own count of what it downloaded: "Fetched 8,790 kB in 3s" (apt's k is 1000). */
function aptFetchedBytes(output: string): number {
  const units: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };
  let total = 0;
  for (const match of output.matchAll(/Fetched ([\d,.]+) (B|kB|MB|GB) in/g)) total += Number(match[1].replace(/,/g, '')) * units[match[2]];
  return total;
}

/** apt's own download time: the "in 2s" / "in 0s" of its "Fetched" lines (whole seconds). */
function aptFetchSeconds(output: string): number {
  let total = 0;
  for (const match of output.matchAll(/Fetched [\d,.]+ (?:B|kB|MB|GB) in (?:(\d+)min )?(\d+)s/g)) total += Number(match[1] ?? 0) * 60 + Number(match[2]);
  return total;
}

async function main(): Promise<number> {
  const lab = (await ensureLab()).endpoints;
  if (lab.docker.local.external) throw new Error('the bench runs only against the lab engine');
  await ensurePackages((line) => process.stderr.write(`${line}\n`), ['apt-cacher-ng', 'debootstrap']);
  const host = lab.docker.local.host;
  const docker = await connectEngine(parseHost(host));
  const cacheRoot = path.join(lab.root, 'cache');
  await mkdir(cacheRoot, { recursive: true });
  await ensureBase(host, cacheRoot);

  const id = randomBytes(3).toString('hex');
  const repo = await mkdtemp(path.join(os.tmpdir(), 'wharf-bench-builds-'));
  const cacheDir = path.join(cacheRoot, `package-cache-bench-${id}`);
  const git = (...args: string[]) => execFileAsync('git', ['-c', 'user.name=Wharf Bench', '-c', 'user.email=bench@wharf.invalid', ...args], { cwd: repo });
  await writeFile(path.join(repo, 'Dockerfile'), [`FROM ${BASE}`, `RUN apt-get update && apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`, ''].join('\n'));
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'bench');
  const peerTag = `wharf-bench/apt-peer:${id}`;
  const peerArgs = ['-H', host, 'build', '--no-cache', '-t', peerTag, repo];
  const repository = `wharf-bench/apt-${id}`;

  const peer = { ms: [] as number[], bytes: [] as number[], fetchSeconds: [] as number[] };
  const cold = { ms: [] as number[], stats: [] as CacheStats[] };
  const warm = { ms: [] as number[], stats: [] as CacheStats[] };
  const gateway = await bridgeGateway(docker);
  if (!gateway) throw new Error('the lab engine has no bridge gateway for build containers to reach the cache');
  try {
    for (let run = 1; run <= RUNS; run++) {
      // Peer: every package from the mirror.
      let started = performance.now();
      const { stdout } = await execFileAsync('docker', peerArgs, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
      peer.ms.push(performance.now() - started);
      peer.bytes.push(aptFetchedBytes(stdout));
      peer.fetchSeconds.push(aptFetchSeconds(stdout));
      await dockerCli(host, ['rmi', peerTag]);

      // Wharf: an empty cache, then a cold and a warm build through it.
      await stopPackageCache(cacheDir);
      await rm(cacheDir, { recursive: true, force: true });
      const state = await startPackageCache({ dir: cacheDir, bind: [gateway] });
      const proxy = await buildProxyUrl(docker, state);
      for (const phase of [cold, warm]) {
        const mark = await cacheStatsMark(cacheDir);
        started = performance.now();
        const result = await buildOnCommit({ docker, engine: 'lab', workspace: repo, repository, noCache: true, cacheProxy: proxy, tagBranch: false });
        phase.ms.push(performance.now() - started);
        if (result.outcome !== 'passed' || result.warnings.length) throw new Error(`wharf build ${result.outcome}: ${result.warnings.join('; ')}\n${result.log.slice(-2000)}`);
        phase.stats.push(await readCacheStats(cacheDir, { since: mark }));
        for (const tag of result.tags) await dockerCli(host, ['rmi', tag]);
      }
      process.stderr.write(`run ${run}: peer ${(peer.ms.at(-1)! / 1000).toFixed(1)} s ${(peer.bytes.at(-1)! / 1e6).toFixed(2)} MB; cold ${(cold.ms.at(-1)! / 1000).toFixed(1)} s ${(cold.stats.at(-1)!.bytesFetched / 1e6).toFixed(2)} MB; warm ${(warm.ms.at(-1)! / 1000).toFixed(1)} s ${(warm.stats.at(-1)!.bytesFetched / 1e6).toFixed(3)} MB\n`);
    }
  } finally {
    await stopPackageCache(cacheDir);
    await rm(cacheDir, { recursive: true, force: true });
    await rm(repo, { recursive: true, force: true });
  }

  const mb = (bytes: number) => bytes / 1e6;
  const fetched = (stats: CacheStats[]) => median(stats.map((s) => s.bytesFetched));
  const peerCommand = `DOCKER_BUILDKIT=0 docker ${peerArgs.join(' ').replace(repo, 'CONTEXT').replace(id, 'ID')}`;
  const met = printBenchTable(
    `Package cache: RUN apt-get update && apt-get install -y ${PACKAGES.join(' ')}, --no-cache builds, median of ${RUNS}`,
    [
      { metric: 'mirror bytes, 2nd build (warm cache) vs no cache', wharf: mb(fetched(warm.stats)), peer: mb(median(peer.bytes)), unit: 'MB', peerCommand, target: { ratio: 0.1 } },
      { metric: 'build time, 2nd build (warm cache) vs no cache', wharf: median(warm.ms) / 1000, peer: median(peer.ms) / 1000, unit: 's', peerCommand, target: { ratio: 0.5 } },
      { metric: 'mirror bytes, 1st build (cold cache)', wharf: mb(fetched(cold.stats)), peer: mb(median(peer.bytes)), unit: 'MB', peerCommand },
      { metric: 'build time, 1st build (cold cache)', wharf: median(cold.ms) / 1000, peer: median(peer.ms) / 1000, unit: 's', peerCommand },
    ],
    [
      `warm builds: ${median(warm.stats.map((s) => s.requests))} requests, hit rate ${(median(warm.stats.map((s) => s.hitRate)) * 100).toFixed(0)}%, ${mb(median(warm.stats.map((s) => s.bytesSaved))).toFixed(2)} MB saved per build`,
      `the peer spent ${median(peer.fetchSeconds)} s of its ${(median(peer.ms) / 1000).toFixed(0)} s downloading (apt's own count): the cache can only save that part; the rest is the engine (rootfs copies, layer commits) and dpkg`,
      'peer bytes are apt\'s own "Fetched" totals; Wharf bytes are what apt-cacher-ng downloaded from the mirror (its transfer log)',
      'engine: the lab engine (Docker 20.10, classic builder, vfs storage driver: each RUN layer is a full copy of the rootfs)',
    ],
  );
  return met ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench builds: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
