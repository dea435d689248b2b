/**
 * Explorer listing: 1,000 distinct images and 300 containers on the lab's local engine; the first
 * level of the Images and Containers trees from a cold client (a new connection each run: listing,
 * tag expansion and grouping included) against `docker image ls --format json` and
 * `docker ps -a --format json` on the same engine, in the same run. Medians of 5 runs. Everything
 * made here is removed at the end. Run with `npm run bench -- explorer`.
 */
import type Docker from 'dockerode';
import { Readable } from 'node:stream';
import { closeEngine, connectEngine } from '../../src/engines/docker/client';
import { groupContainers, listContainers } from '../../src/engines/docker/containers';
import { parseHost } from '../../src/engines/docker/endpoint';
import { groupImages, imageTags, listImages } from '../../src/engines/docker/images';
import { tinyTar } from '../engines/docker/fixtures';
import { ensureLab } from '../lab/lab';
import { execFileAsync, median, printBenchTable, timeRuns } from './support';

const IMAGES = Number(process.env.WHARF_BENCH_IMAGES ?? 1000);
const CONTAINERS = Number(process.env.WHARF_BENCH_CONTAINERS ?? 300);
const RUNS = 5;
const REPO = 'wharf-bench/explorer';
const LABEL = 'wharf.bench=explorer';

async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString();
  return text;
}

/** Distinct images: each a `docker import` of a one-file tar with its own content. */
async function makeImages(docker: Docker): Promise<void> {
  const existing = new Set(imageTags(await listImages(docker)).map((tag) => tag.reference));
  const wanted = Array.from({ length: IMAGES }, (_, index) => index).filter((index) => !existing.has(`${REPO}-${index}:1`));
  await inBatches(wanted, 6, async (index) => {
    const stream = await docker.importImage(Readable.from([tinyTar('marker.txt', `bench image ${index}`)]) as unknown as NodeJS.ReadableStream, { repo: `${REPO}-${index}`, tag: '1' } as object);
    const answer = await drain(stream as NodeJS.ReadableStream);
    if (/"error/.test(answer)) throw new Error(`import ${index}: ${answer}`);
  });
}

async function makeContainers(docker: Docker): Promise<void> {
  const existing = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
  const wanted = Array.from({ length: CONTAINERS - existing.length }, (_, index) => index);
  await inBatches(wanted, 6, (index) =>
    docker.createContainer({ Image: `${REPO}-${index % IMAGES}:1`, Cmd: ['/marker.txt'], Labels: { 'wharf.bench': 'explorer', 'com.docker.compose.project': `bench-${index % 10}` }, HostConfig: { NetworkMode: 'none' } }),
  );
}

async function cleanUp(docker: Docker): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
  await inBatches(containers, 6, (container) => docker.getContainer(container.Id).remove({ force: true }));
  const images = imageTags(await listImages(docker)).filter((tag) => tag.repository.startsWith(`${REPO}-`));
  await inBatches(images, 6, (tag) => docker.getImage(tag.reference).remove({ force: true }).catch(() => undefined));
}

async function main(): Promise<number> {
  const { endpoints } = await ensureLab();
  if (endpoints.docker.local.external) throw new Error('the explorer bench only runs against the lab engine');
  const host = endpoints.docker.local.host;
  const setup = await connectEngine(parseHost(host));
  try {
    const started = Date.now();
    await makeImages(setup);
    await makeContainers(setup);
    const imageCount = (await listImages(setup)).length;
    const containerCount = (await setup.listContainers({ all: true })).length;
    process.stdout.write(`made ${IMAGES} images and ${CONTAINERS} containers in ${((Date.now() - started) / 1000).toFixed(0)} s; the engine lists ${imageCount} images and ${containerCount} containers\n`);

    /** A cold client each time: a new dockerode, a new connection, nothing cached. */
    const cold = async <T>(work: (docker: Docker) => Promise<T>): Promise<T> => {
      const docker = await connectEngine(parseHost(host));
      try {
        return await work(docker);
      } finally {
        closeEngine(docker);
      }
    };
    const wharfImages = () => cold(async (docker) => groupImages(imageTags(await listImages(docker))));
    const wharfContainers = () => cold(async (docker) => groupContainers(await listContainers(docker)));
    const imageArgs = ['-H', host, 'image', 'ls', '--format', 'json'];
    const psArgs = ['-H', host, 'ps', '-a', '--format', 'json'];
    const cli = (args: string[]) => execFileAsync('docker', args, { maxBuffer: 256 * 1024 * 1024 });

    // Sanity: both sides see the same objects.
    const [groups, cliImages] = await Promise.all([wharfImages(), cli(imageArgs)]);
    const shown = groups.reduce((sum, group) => sum + group.tags.length, 0);
    const cliLines = cliImages.stdout.trim().split('\n').filter((line) => !line.includes('"Tag":"\\u003cnone\\u003e"')).length;
    process.stdout.write(`wharf shows ${shown} tags in ${groups.length} repositories; docker image ls prints ${cliLines} tagged lines\n`);

    // Interleave per run so drift on this shared machine hits both sides alike.
    const times = { wi: [] as number[], wc: [] as number[], pi: [] as number[], pc: [] as number[], wt: [] as number[], pt: [] as number[] };
    for (let run = 0; run < RUNS; run++) {
      const [wi] = await timeRuns(1, wharfImages);
      const [wc] = await timeRuns(1, wharfContainers);
      const [pi] = await timeRuns(1, () => cli(imageArgs));
      const [pc] = await timeRuns(1, () => cli(psArgs));
      const [wt] = await timeRuns(1, () => Promise.all([wharfImages(), wharfContainers()]));
      times.wi.push(wi);
      times.wc.push(wc);
      times.pi.push(pi);
      times.pc.push(pc);
      times.wt.push(wt);
      times.pt.push(pi + pc);
    }
    const peerImages = `docker ${imageArgs.join(' ')}`;
    const peerPs = `docker ${psArgs.join(' ')}`;
    const met = printBenchTable(
      `Explorer first level: ${IMAGES} images, ${CONTAINERS} containers (lab engine, cold client, median of ${RUNS})`,
      [
        { metric: 'Images tree, first level', wharf: median(times.wi), peer: median(times.pi), unit: 'ms', peerCommand: peerImages },
        { metric: 'Containers tree, first level', wharf: median(times.wc), peer: median(times.pc), unit: 'ms', peerCommand: peerPs },
        { metric: 'both trees (wharf: the two views load together)', wharf: median(times.wt), peer: median(times.pt), unit: 'ms', peerCommand: `${peerImages} ; ${peerPs} (sum)`, target: { ratio: 0.5 } },
        { metric: 'both trees, absolute', wharf: median(times.wt), unit: 'ms', target: { absolute: 300 } },
      ],
      ['wharf: one GET /images/json (no shared-size) and one GET /containers/json?all=1 (no size), grouped by repository / compose project', 'absolute times on a shared 2-core machine only inform; the ratio is the claim'],
    );
    return met ? 0 : 1;
  } finally {
    await cleanUp(setup);
    closeEngine(setup);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench explorer: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
