/**
 * Explorer issue: a repository with 5,000 tags, first page of the Registries tree's tag level.
 * Wharf's registry client (what the tree calls: the first page of `tags()`, from a cold client)
 * against `skopeo list-tags` on the same repository, in the same run. Distribution 2.8 answers
 * with every tag at once (it ignores `n`), so this is the large-answer path.
 */
import { RegistryClient } from '../../src/engines/registry/client';
import { ensureLab } from '../lab/lab';
import { OCI_MANIFEST, uploadImage } from '../support/ociImage';
import { execFileAsync, median, printBenchTable, timeRuns } from './support';

const TAGS = 5000;
const RUNS = 5;
const PAGE = 100; // what the tree shows before "Load more…"

async function seed(registry: string, repository: string): Promise<void> {
  const client = new RegistryClient({ registry });
  const manifest = await uploadImage(client, repository, [Buffer.from('wharf bench tags layer')]);
  // The same manifest under many tags: cheap for the registry, and exactly what a tag list sees.
  const tags = Array.from({ length: TAGS }, (_, index) => `build-${String(index).padStart(5, '0')}`);
  for (let index = 0; index < tags.length; index += 50) {
    await Promise.all(tags.slice(index, index + 50).map((tag) => client.putManifest(repository, tag, manifest, OCI_MANIFEST)));
  }
}

async function main(): Promise<void> {
  const lab = (await ensureLab()).endpoints;
  const registry = lab.registries.stage.address;
  const repository = 'bench/many-tags';
  process.stdout.write(`pushing ${TAGS} tags to ${registry}/${repository}…\n`);
  await seed(registry, repository);

  let firstPage: string[] = [];
  const wharf = await timeRuns(RUNS, async () => {
    const client = new RegistryClient({ registry }); // cold: no token or connection reused
    for await (const page of client.tags(repository, { pageSize: PAGE })) {
      firstPage = page;
      break;
    }
  });
  const peerArgs = ['list-tags', '--tls-verify=false', `docker://${registry}/${repository}`];
  let peerCount = 0;
  const peer = await timeRuns(RUNS, async () => {
    const { stdout } = await execFileAsync('skopeo', peerArgs, { maxBuffer: 64 << 20 });
    peerCount = (JSON.parse(stdout) as { Tags: string[] }).Tags.length;
  });
  const met = printBenchTable(
    `Registries tree: first page of a repository with ${TAGS} tags (median of ${RUNS})`,
    [{ metric: `first page (${firstPage.length} tags fetched; the tree shows ${PAGE})`, wharf: median(wharf), peer: median(peer), unit: 'ms', peerCommand: `skopeo ${peerArgs.join(' ')}`, target: { absolute: 200 } }],
    [`skopeo listed ${peerCount} tags; Wharf's runs: ${wharf.map((ms) => ms.toFixed(1)).join(', ')} ms; skopeo's: ${peer.map((ms) => ms.toFixed(0)).join(', ')} ms`],
  );
  process.exit(met && firstPage.length >= PAGE && peerCount >= TAGS ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench registryTags: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
