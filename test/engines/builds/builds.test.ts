// Build on commit and the package cache, on the lab's local engine and test registry: a real git
// repository, real classic builds, a real test container, a real push, a real apt-cacher-ng.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { buildOnCommit, type BuildOnCommitResult } from '../../../src/engines/builds/buildOnCommit';
import { parseReflogLine, readHead, watchCommits, type ReflogEntry } from '../../../src/engines/builds/commit';
import { branchTag, repositoryFor, splitCommand } from '../../../src/engines/builds/naming';
import { bridgeGateway, buildProxyUrl, cacheStatsMark, packageCacheState, readCacheStats, startPackageCache, stopPackageCache } from '../../../src/engines/builds/packageCache';
import { isWharfError } from '../../../src/engines/core/errors';
import { connectEngine } from '../../../src/engines/docker/client';
import { parseHost } from '../../../src/engines/docker/endpoint';
import { BuildRecordStore } from '../../../src/engines/layers/records';
import { ensureLab, type LabEndpoints } from '../../lab/lab';
import { ensurePackages } from '../../lab/packages';

const run = promisify(execFile);
const ID = randomBytes(3).toString('hex');
// A small real file on Debian's mirror (53 KB): what a RUN downloads through the cache.
const DEB_URL = 'http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb';

async function git(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=Wharf Test', '-c', 'user.email=test@wharf.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: dir });
  return stdout.trim();
}

async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', '--short', 'HEAD');
}

async function registryTags(e: LabEndpoints, repository: string): Promise<string[]> {
  const response = await fetch(`${e.registries.test.url}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  assert.equal(response.status, 200);
  return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
}

describe('naming and reflog parsing', () => {
  it('turns branches into valid tags', () => {
    assert.equal(branchTag('main'), 'main');
    assert.equal(branchTag('feature/login page'), 'feature-login-page');
    assert.equal(branchTag('.hidden--x'), 'hidden-x');
    assert.equal(branchTag('ü'), undefined);
    assert.equal(branchTag('x'.repeat(200))?.length, 128);
  });
  it('names the repository after the folder', () => {
    assert.equal(repositoryFor('/tmp/My Project_'), 'my-project');
    assert.equal(repositoryFor('/tmp/---'), 'app');
  });
  it('splits a test command into argv without a shell', () => {
    assert.deepEqual(splitCommand(`sh -c 'test -f /a && echo "ok $x"'`), ['sh', '-c', 'test -f /a && echo "ok $x"']);
    assert.deepEqual(splitCommand(' a  "b c" d\\ e "" '), ['a', 'b c', 'd e', '']);
    assert.throws(() => splitCommand('echo "open'), (error) => isWharfError(error, 'bad-input'));
  });
  it('reads reflog lines', () => {
    const entry = parseReflogLine(`${'a'.repeat(40)} ${'b'.repeat(40)} Wharf <t@w> 1700000000 +0000\tcommit (initial): first`);
    assert.deepEqual(entry, { oldSha: 'a'.repeat(40), newSha: 'b'.repeat(40), action: 'commit (initial)', message: 'first' });
  });
});

describe('build on commit (lab engine and test registry)', () => {
  let e: LabEndpoints;
  let docker: Docker;
  let repo: string;
  let recordDir: string;
  const repository = `wharf-build-test/app-${ID}`;
  const results: BuildOnCommitResult[] = [];
  const base = () => ({ docker, engine: 'lab', workspace: repo, repository, store: new BuildRecordStore(recordDir) });

  before(async () => {
    e = (await ensureLab()).endpoints;
    assert.equal(e.docker.local.external, false, 'the tests run only against the lab engine');
    docker = await connectEngine(parseHost(e.docker.local.host));
    repo = await mkdtemp(path.join(os.tmpdir(), 'wharf-build-repo-'));
    recordDir = path.join(repo, '..', `${path.basename(repo)}-records`);
    await git(repo, 'init', '-q');
    await writeFile(path.join(repo, 'Dockerfile'), [`FROM ${e.images.busybox}`, `RUN echo "built ${ID}" > /built.txt`, 'CMD ["cat", "/built.txt"]', ''].join('\n'));
    await mkdir(path.join(repo, '.wharf'));
    await writeFile(path.join(repo, '.wharf', 'pipeline.json'), JSON.stringify({ stages: [{ name: 'test', registry: e.registries.test.address }, { name: 'stage', registry: e.registries.stage.address }] }));
    await commitAll(repo, 'first');
  });

  after(async () => {
    for (const result of results) {
      for (const ref of [...result.tags, ...result.pushed]) await docker?.getImage(ref).remove().catch(() => undefined);
    }
    if (repo) await rm(repo, { recursive: true, force: true });
    if (recordDir) await rm(recordDir, { recursive: true, force: true });
  });

  it('tags the image with the short SHA and the branch, tests it, and pushes it to the first stage', async () => {
    const short = await git(repo, 'rev-parse', '--short', 'HEAD');
    const head = await readHead(repo);
    assert.equal(head.shortSha, short);
    assert.equal(head.branch, 'main');
    const lines: string[] = [];
    const result = await buildOnCommit({ ...base(), test: ['grep', '-q', `built ${ID}`, '/built.txt'], push: true, onLine: (line) => lines.push(line) });
    results.push(result);
    assert.equal(result.outcome, 'passed', result.log);
    assert.equal(result.shortSha, short);
    assert.deepEqual(result.tags, [`${repository}:${short}`, `${repository}:main`]);
    assert.equal(result.test, 'passed');
    assert.equal(result.testExitCode, 0);
    assert.equal(result.registry, e.registries.test.address);
    assert.deepEqual(result.pushed, [`${e.registries.test.address}/${repository}:${short}`, `${e.registries.test.address}/${repository}:main`]);
    assert.match(result.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    // The engine has the image under the SHA tag; the registry has both tags.
    const image = await docker.getImage(`${repository}:${short}`).inspect();
    assert.equal(image.Id, result.imageId);
    assert.deepEqual((await registryTags(e, repository)).sort(), [short, 'main'].sort());
    // The log was streamed as it came and kept in the record; the layer-cache record was written.
    assert.ok(lines.some((line) => line.startsWith('Step 2/3 : RUN')));
    assert.equal(result.log.trim().split('\n').length, lines.length);
    assert.equal(result.record?.status, 'succeeded');
    assert.equal((await new BuildRecordStore(recordDir).read(path.join(repo, 'Dockerfile')))?.tag, `${repository}:${short}`);
  });

  it('does not push when the test command fails', async () => {
    await writeFile(path.join(repo, 'change.txt'), 'two\n');
    const short = await commitAll(repo, 'second');
    const before = await registryTags(e, repository);
    const result = await buildOnCommit({ ...base(), test: ['sh', '-c', 'echo failing on purpose >&2; exit 3'], push: true });
    results.push(result);
    assert.equal(result.outcome, 'test-failed');
    assert.equal(result.test, 'failed');
    assert.equal(result.testExitCode, 3);
    assert.deepEqual(result.pushed, []);
    assert.match(result.log, /failing on purpose/);
    assert.match(result.log, /Not pushed/);
    // Built and tagged locally, but the registry is untouched.
    assert.equal((await docker.getImage(`${repository}:${short}`).inspect()).Id, result.imageId);
    assert.deepEqual((await registryTags(e, repository)).sort(), before.sort());
    assert.ok(!before.includes(short));
  });

  it('reports a build error at the failing instruction, and nothing is tagged or pushed', async () => {
    await writeFile(path.join(repo, 'Dockerfile.bad'), [`FROM ${e.images.busybox}`, 'RUN echo ok', 'RUN echo broken >&2 && exit 7', 'RUN echo never', ''].join('\n'));
    const result = await buildOnCommit({ ...base(), dockerfile: 'Dockerfile.bad', test: ['true'], push: true, tagLatest: true });
    results.push(result);
    assert.equal(result.outcome, 'build-failed');
    assert.equal(result.buildError?.line, 3);
    assert.equal(result.buildError?.instruction, 'RUN echo broken >&2 && exit 7');
    assert.match(result.buildError?.message ?? '', /non-zero code: 7/);
    assert.equal(result.test, 'skipped');
    assert.deepEqual(result.pushed, []);
    // Same commit as before: its SHA tag still names the earlier image, and no latest tag was made.
    assert.equal((await docker.getImage(result.tags[0]).inspect()).Id, results[1].imageId);
    await assert.rejects(docker.getImage(`${repository}:latest`).inspect());
  });

  it('builds without the package cache when its proxy is unreachable, with a warning', async () => {
    const result = await buildOnCommit({ ...base(), cacheProxy: 'http://127.0.0.1:1', tagBranch: false });
    results.push(result);
    assert.equal(result.outcome, 'passed');
    assert.equal(result.cacheProxy, undefined);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0], /package cache http:\/\/127\.0\.0\.1:1 is unreachable \(connection refused\): building without it/);
    assert.deepEqual(result.tags, [`${repository}:${result.shortSha}`]);
  });

  it('refuses bad input before building', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'wharf-build-empty-'));
    try {
      await assert.rejects(buildOnCommit({ ...base(), workspace: empty }), (error) => isWharfError(error, 'bad-input') && /not a git repository/.test(error.message));
      await git(empty, 'init', '-q');
      await assert.rejects(buildOnCommit({ ...base(), workspace: empty }), (error) => isWharfError(error, 'bad-input') && /no commits/.test(error.message));
      await writeFile(path.join(empty, 'README'), 'no Dockerfile here\n');
      await commitAll(empty, 'readme');
      await assert.rejects(buildOnCommit({ ...base(), workspace: empty }), (error) => isWharfError(error, 'not-found') && /Dockerfile .* does not exist/.test(error.message));
      await writeFile(path.join(empty, 'Dockerfile'), `FROM ${e.images.busybox}\n`);
      await commitAll(empty, 'dockerfile');
      await assert.rejects(buildOnCommit({ ...base(), workspace: empty, push: true }), (error) => isWharfError(error, 'bad-input') && /no registry to push to/.test(error.message));
      await assert.rejects(buildOnCommit({ ...base(), workspace: empty, repository: 'Bad Name' }), (error) => isWharfError(error, 'bad-input'));
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('sees commits (not checkouts) through the reflog', async () => {
    const seen: ReflogEntry[] = [];
    const watcher = await watchCommits(repo, (entry) => seen.push(entry), { intervalMs: 50 });
    try {
      await writeFile(path.join(repo, 'third.txt'), '3\n');
      await commitAll(repo, 'third');
      const sha = await git(repo, 'rev-parse', 'HEAD');
      await git(repo, 'checkout', '-q', '-b', 'other');
      await git(repo, 'checkout', '-q', 'main');
      for (let waited = 0; waited < 5000 && seen.length === 0; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(seen.length, 1);
      assert.equal(seen[0].newSha, sha);
      assert.equal(seen[0].action, 'commit');
      assert.equal(seen[0].message, 'third');
    } finally {
      watcher.close();
    }
  });
});

describe('package cache (apt-cacher-ng) serving the second build', () => {
  let e: LabEndpoints;
  let docker: Docker;
  let repo: string;
  let cacheDir: string;
  const repository = `wharf-build-test/cached-${ID}`;
  const made: string[] = [];

  before(async () => {
    e = (await ensureLab()).endpoints;
    await ensurePackages(() => undefined, ['apt-cacher-ng']);
    docker = await connectEngine(parseHost(e.docker.local.host));
    // A fresh cache folder: a file cached by an earlier run would make the first build a hit.
    cacheDir = path.join(e.root, 'cache', `package-cache-test-${ID}`);
    repo = await mkdtemp(path.join(os.tmpdir(), 'wharf-build-cache-'));
    await git(repo, 'init', '-q');
    await writeFile(path.join(repo, 'Dockerfile'), [`FROM ${e.images.busybox}`, `RUN wget -q -O /pkg.deb ${DEB_URL} && ls -l /pkg.deb`, ''].join('\n'));
    await commitAll(repo, 'download through the cache');
  });

  after(async () => {
    if (cacheDir) {
      await stopPackageCache(cacheDir);
      await rm(cacheDir, { recursive: true, force: true });
    }
    for (const ref of made) await docker?.getImage(ref).remove().catch(() => undefined);
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('fetches from the mirror once; the second --no-cache build is served from the cache', async () => {
    const gateway = await bridgeGateway(docker);
    assert.ok(gateway, 'the lab engine has a bridge gateway');
    const state = await startPackageCache({ dir: cacheDir, bind: [gateway] });
    assert.equal(state.reused, false);
    assert.deepEqual(await startPackageCache({ dir: cacheDir, bind: [gateway] }).then((again) => [again.reused, again.pid]), [true, state.pid]);
    const proxy = await buildProxyUrl(docker, state);
    assert.equal(proxy, `http://${gateway}:${state.port}`);

    const build = async () => {
      const mark = await cacheStatsMark(cacheDir);
      const result = await buildOnCommit({ docker, engine: 'lab', workspace: repo, repository, cacheProxy: proxy, noCache: true, tagBranch: false });
      made.push(...result.tags);
      assert.equal(result.outcome, 'passed', result.log);
      assert.equal(result.cacheProxy, proxy);
      assert.deepEqual(result.warnings, []);
      // busybox wget went through the proxy: the build's own output shows the file's size.
      assert.match(result.log, /53080 .*\/pkg\.deb/);
      return readCacheStats(cacheDir, { since: mark });
    };
    const first = await build();
    const second = await build();
    assert.equal(first.requests, 1);
    assert.equal(first.misses, 1);
    assert.ok(first.bytesFetched >= 53_080, `first build fetched ${first.bytesFetched} bytes`);
    assert.equal(second.requests, 1);
    assert.equal(second.hits, 1);
    assert.equal(second.bytesFetched, 0);
    assert.ok(second.bytesServed >= 53_080);
    assert.equal(second.bytesSaved, second.bytesServed);
    const total = await readCacheStats(cacheDir);
    assert.equal(total.requests, 2);
    assert.equal(total.hitRate, 0.5);

    assert.equal(await stopPackageCache(cacheDir), true);
    assert.equal(await packageCacheState(cacheDir), undefined);
    assert.equal(await stopPackageCache(cacheDir), false);
  });
});
