// `wharf build` and `wharf cache` as a CI server runs them: the compiled CLI against the lab.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureLab, dockerCli, type LabEndpoints } from '../../lab/lab';
import { ensurePackages } from '../../lab/packages';

const CLI = path.resolve(__dirname, '../../../src/cli/main.js');
const ID = randomBytes(3).toString('hex');
const run = promisify(execFile);

function wharf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await run('git', ['-c', 'user.name=Wharf Test', '-c', 'user.email=test@wharf.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: dir })).stdout.trim();
}

describe('wharf build / wharf cache', () => {
  let e: LabEndpoints;
  let dir: string;
  let repo: string;
  let engine: string[];
  const repository = `wharf-build-cli/app-${ID}`;
  // The folder names the image repository when --repository is not given.
  const folder = `cliapp-${ID}`;
  const made: string[] = [];

  before(async () => {
    e = (await ensureLab()).endpoints;
    await ensurePackages(() => undefined, ['apt-cacher-ng']);
    engine = ['--host', e.docker.local.host];
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-build-cli-'));
    repo = path.join(dir, folder);
    await mkdir(path.join(repo, '.wharf'), { recursive: true });
    await git(repo, 'init', '-q');
    await writeFile(path.join(repo, 'Dockerfile'), `FROM ${e.images.busybox}\nRUN echo built-${ID} > /built.txt\n`);
    await writeFile(path.join(repo, '.wharf', 'pipeline.json'), JSON.stringify({ stages: [{ name: 'test', registry: e.registries.test.address }] }));
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'cli');
  });

  after(async () => {
    if (dir) await wharf(['cache', 'down', '--dir', path.join(dir, 'cache')]);
    for (const ref of made) await dockerCli(e.docker.local.host, ['rmi', ref]).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts the cache, builds, tests and pushes with it, prints JSON, and stops the cache', async () => {
    const cacheDir = path.join(dir, 'cache');
    const up = await wharf(['cache', 'up', '--dir', cacheDir, '--json', ...engine]);
    assert.equal(up.code, 0, up.stderr);
    const state = JSON.parse(up.stdout) as { port: number; buildProxy: string };
    assert.match(state.buildProxy, new RegExp(`^http://[\\d.]+:${state.port}$`));

    const short = await git(repo, 'rev-parse', '--short', 'HEAD');
    const built = await wharf(['build', repo, '--push', '--test', `grep -q "built-${ID}" /built.txt`, '--tag-latest', '--cache-dir', cacheDir, '--records', path.join(dir, 'records'), '--json', ...engine]);
    assert.equal(built.code, 0, built.stderr);
    const result = JSON.parse(built.stdout) as { tags: string[]; pushed: string[]; test: string; cacheProxy?: string; record?: unknown };
    made.push(...result.tags, ...result.pushed);
    assert.deepEqual(result.tags, [`${folder}:${short}`, `${folder}:main`, `${folder}:latest`]);
    assert.equal(result.test, 'passed');
    assert.equal(result.cacheProxy, state.buildProxy);
    assert.equal(result.record, undefined);
    assert.deepEqual(result.pushed, [short, 'main', 'latest'].map((tag) => `${e.registries.test.address}/${folder}:${tag}`));
    // The build log went to stderr, the summary to stdout.
    assert.match(built.stderr, /Step 2\/2 : RUN echo built/);

    const stats = await wharf(['cache', 'stats', '--dir', cacheDir, '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal((JSON.parse(stats.stdout) as { running: boolean }).running, true);
    const down = await wharf(['cache', 'down', '--dir', cacheDir]);
    assert.equal(down.code, 0);
    assert.match(down.stdout, /stopped/);
  });

  it('exits 1 without pushing when the test fails, and names a missing Dockerfile', async () => {
    const failed = await wharf(['build', repo, '--repository', repository, '--push', '--test', 'false', '--no-package-cache', '--records', path.join(dir, 'records'), '--json', ...engine]);
    assert.equal(failed.code, 1, failed.stderr);
    const result = JSON.parse(failed.stdout) as { tags: string[]; pushed: string[]; test: string; testExitCode: number };
    made.push(...result.tags);
    assert.equal(result.test, 'failed');
    assert.equal(result.testExitCode, 1);
    assert.deepEqual(result.pushed, []);
    const response = await fetch(`${e.registries.test.url}/v2/${repository}/tags/list`);
    assert.equal(response.status, 404);

    const missing = await wharf(['build', repo, '--dockerfile', 'Nope.Dockerfile', ...engine]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^wharf build: Dockerfile .*Nope\.Dockerfile: does not exist\. /);
  });

  it('rejects bad usage with exit code 2', async () => {
    assert.equal((await wharf(['build', '--registry', 'x:1'])).code, 2);
    assert.equal((await wharf(['build', '--cache', 'http://x:1', '--no-package-cache'])).code, 2);
    assert.equal((await wharf(['cache', 'sideways'])).code, 2);
  });
});
