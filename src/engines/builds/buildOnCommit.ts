/**
 * Build on commit: build the workspace's Dockerfile through the engine API (the layer-cache
 * engine's build, so each build is also recorded for the layer-cache view), tag it with the commit's
 * short SHA (plus the branch, plus `latest` only on request), run the optional test command in the
 * image, and push to the first pipeline stage's registry only when the test passed. Everything is
 * decided before the build starts (Dockerfile, registry, names), so bad input fails fast.
 */
import type Docker from 'dockerode';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { WharfError, messageOf, throwIfCancelled } from '../core/errors';
import { silentLogger, type WorkOptions } from '../core/progress';
import { tagImage } from '../docker/imageOps';
import { buildDockerfile } from '../layers/build';
import type { BuildRecord, BuildRecordStore } from '../layers/records';
import { pushImage } from '../promote/engine';
import { loadPipeline, type Pipeline } from '../promote/stages';
import type { CredentialSource } from '../registry/credentials';
import { parseRegistryAddress } from '../registry/address';
import { normalizeRegistry, parseReference } from '../registry/reference';
import { readHead, type HeadInfo } from './commit';
import { assertRepository, branchTag, repositoryFor } from './naming';
import { probeProxy, proxyBuildArgs } from './packageCache';
import { runTestInImage } from './runTest';

export interface BuildOnCommitOptions extends WorkOptions {
  docker: Docker;
  /** The engine's label, for the build record. */
  engine: string;
  /** The workspace (any folder inside the repository). */
  workspace: string;
  /** Default: Dockerfile at the repository's top. */
  dockerfile?: string;
  /** Default: the Dockerfile's folder. */
  context?: string;
  /** Default: the repository folder's name. */
  repository?: string;
  /** Also tag the branch (default true; nothing on a detached HEAD). */
  tagBranch?: boolean;
  tagLatest?: boolean;
  /** The test command as argv; absent = no test. */
  test?: string[];
  testTimeoutMs?: number;
  /** Push after a passing test (or with no test). */
  push?: boolean;
  /** Where to push; default the first stage of `pipeline`, else of the workspace's `.wharf/pipeline.json`. */
  registry?: string;
  pipeline?: Pipeline;
  credentials?: CredentialSource;
  /** The package cache's proxy URL as seen from build containers. Unreachable = a warning, no proxy. */
  cacheProxy?: string;
  noCache?: boolean;
  store?: BuildRecordStore;
  /** HEAD, when the caller already read it (a commit trigger). */
  head?: HeadInfo;
  /** Every log line as it comes (build output, test output, push steps). */
  onLine?: (line: string) => void;
  /** Cap for the log kept in the result (the oldest part is dropped). Default 1 MiB. */
  maxLogBytes?: number;
}

export type BuildOutcome = 'passed' | 'build-failed' | 'test-failed';

export interface BuildOnCommitResult {
  sha: string;
  shortSha: string;
  branch?: string;
  subject: string;
  repository: string;
  dockerfile: string;
  imageId?: string;
  /** Local references: repository:sha, repository:branch, repository:latest. */
  tags: string[];
  outcome: BuildOutcome;
  build: 'succeeded' | 'failed';
  /** The failing instruction: 1-based line and its text. */
  buildError?: { message: string; line?: number; instruction?: string };
  test: 'passed' | 'failed' | 'skipped';
  testExitCode?: number;
  registry?: string;
  /** References pushed (registry/repository:tag); empty when nothing was pushed. */
  pushed: string[];
  digest?: string;
  cacheProxy?: string;
  warnings: string[];
  log: string;
  startedAt: string;
  finishedAt: string;
  record?: BuildRecord;
}

/** Keeps the newest `max` bytes of a log; older text is dropped behind a marker (bounded memory). */
export class BoundedLog {
  private parts: string[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly max = 1024 * 1024) {}

  add(line: string): void {
    this.parts.push(`${line}\n`);
    this.size += line.length + 1;
    while (this.size > this.max && this.parts.length > 1) {
      const first = this.parts.shift() as string;
      this.size -= first.length;
      this.dropped += first.length;
    }
  }

  text(): string {
    return `${this.dropped ? `[… ${this.dropped} earlier characters dropped …]\n` : ''}${this.parts.join('')}`;
  }
}

async function authFor(credentials: CredentialSource | undefined, registry: string): Promise<Docker.AuthConfig | undefined> {
  const found = await credentials?.(registry);
  if (!found?.username && !found?.identityToken) return undefined;
  if (found.identityToken) return { identitytoken: found.identityToken, serveraddress: registry } as unknown as Docker.AuthConfig;
  return { username: found.username as string, password: found.password ?? '', serveraddress: registry };
}

/** The first stage's registry: the explicit one, the given pipeline's, or the workspace file's. */
export async function firstStageRegistry(options: Pick<BuildOnCommitOptions, 'registry' | 'pipeline'>, root: string): Promise<string | undefined> {
  if (options.registry) return normalizeRegistry(parseRegistryAddress(options.registry).name);
  const pipeline = options.pipeline ?? (await loadPipeline(root));
  return pipeline?.stages[0]?.registry;
}

export async function buildOnCommit(options: BuildOnCommitOptions): Promise<BuildOnCommitResult> {
  const { docker, signal } = options;
  const log = options.log ?? silentLogger;
  const startedAt = new Date().toISOString();
  const head = options.head ?? (await readHead(options.workspace, signal));
  const dockerfile = path.resolve(head.root, options.dockerfile ?? 'Dockerfile');
  if (!(await stat(dockerfile).then((s) => s.isFile(), () => false))) {
    throw new WharfError({ code: 'not-found', object: `Dockerfile ${dockerfile}`, cause: 'does not exist', remedy: 'Add a Dockerfile at the repository\'s top, or name it (--dockerfile / wharf.builds.dockerfile)' });
  }
  const repository = options.repository ?? repositoryFor(head.root);
  assertRepository(repository);
  const tagNames = [head.shortSha];
  const branch = options.tagBranch === false || !head.branch ? undefined : branchTag(head.branch);
  if (branch && branch !== head.shortSha && branch !== 'latest') tagNames.push(branch);
  if (options.tagLatest) tagNames.push('latest');
  const tags = tagNames.map((tag) => `${repository}:${tag}`);
  const registry = options.push ? await firstStageRegistry(options, head.root) : undefined;
  if (options.push && !registry) {
    throw new WharfError({ code: 'bad-input', object: `push of ${tags[0]}`, cause: 'there is no registry to push to (no pipeline stage)', remedy: 'Add .wharf/pipeline.json with a first stage, set wharf.pipeline, or pass --registry' });
  }

  const lines = new BoundedLog(options.maxLogBytes);
  const warnings: string[] = [];
  const say = (line: string) => {
    lines.add(line);
    options.onLine?.(line);
  };
  const warn = (text: string) => {
    warnings.push(text);
    log.warn(text);
    say(`warning: ${text}`);
  };
  say(`Building ${path.relative(head.root, dockerfile) || dockerfile} for ${head.shortSha}${head.branch ? ` (${head.branch})` : ''}: ${head.subject}`);

  let buildArgs: Record<string, string> | undefined;
  let cacheProxy: string | undefined;
  if (options.cacheProxy) {
    const problem = await probeProxy(options.cacheProxy);
    if (problem) warn(`package cache ${options.cacheProxy} is unreachable (${problem}): building without it`);
    else {
      cacheProxy = options.cacheProxy;
      buildArgs = proxyBuildArgs(cacheProxy);
      say(`Package downloads go through the cache at ${cacheProxy}`);
    }
  }

  const base = { sha: head.sha, shortSha: head.shortSha, branch: head.branch, subject: head.subject, repository, dockerfile, tags, registry, cacheProxy, warnings, startedAt };
  const { record } = await buildDockerfile(docker, {
    dockerfile,
    context: options.context,
    tag: tags[0],
    noCache: options.noCache,
    buildArgs,
    store: options.store,
    engine: options.engine,
    signal,
    progress: options.progress,
    onEvent: (event) => {
      if (event.type === 'step') say(`Step ${event.step}/${event.total} : ${event.text}`);
      else if (event.type === 'cache') say(' ---> Using cache');
      else if (event.type === 'output') say(event.text);
      else if (event.type === 'error') say(`error: ${event.message}`);
    },
  });
  if (record.status === 'cancelled') throw new WharfError({ code: 'cancelled', object: `build of ${tags[0]}`, cause: 'cancelled by the user' });
  if (record.status === 'failed') {
    const step = record.steps.find((candidate) => candidate.step === record.error?.step);
    const line = record.error?.line === undefined ? undefined : record.error.line + 1;
    const buildError = { message: record.error?.message ?? 'the build failed', line, instruction: step?.text };
    say(`Build failed${line ? ` at ${path.basename(dockerfile)}:${line}` : ''}${step ? ` (${step.text})` : ''}: ${buildError.message}`);
    return { ...base, outcome: 'build-failed', build: 'failed', buildError, test: 'skipped', pushed: [], log: lines.text(), finishedAt: new Date().toISOString(), record };
  }
  const imageId = record.imageId as string;
  for (const tag of tags.slice(1)) await tagImage(docker, imageId, tag);
  say(`Built ${imageId.replace(/^sha256:/, '').slice(0, 12)} as ${tags.join(', ')}`);

  let test: BuildOnCommitResult['test'] = 'skipped';
  let testExitCode: number | undefined;
  if (options.test?.length) {
    throwIfCancelled(signal, tags[0]);
    options.progress?.report({ message: `test: ${options.test.join(' ')}` });
    say(`Test: ${options.test.join(' ')}`);
    const run = await runTestInImage(docker, imageId, options.test, { signal, timeoutMs: options.testTimeoutMs, onLine: (line) => say(line), labels: { 'wharf.build.sha': head.sha } });
    testExitCode = run.exitCode;
    test = run.exitCode === 0 && !run.timedOut ? 'passed' : 'failed';
    say(`Test ${test}${run.timedOut ? ' (timed out)' : ''} with exit code ${run.exitCode}`);
  }

  const pushed: string[] = [];
  let digest: string | undefined;
  if (registry && test !== 'failed') {
    const authconfig = await authFor(options.credentials, registry);
    for (const tag of tagNames) {
      throwIfCancelled(signal, tags[0]);
      const target = parseReference(`${registry}/${repository}:${tag}`);
      const name = `${registry}/${repository}:${tag}`;
      await tagImage(docker, imageId, name);
      say(`Push ${name}`);
      try {
        digest = (await pushImage(docker, name, target, { signal, progress: options.progress, authconfig })) ?? digest;
      } catch (error) {
        say(`Push failed: ${messageOf(error)}`);
        throw error;
      }
      pushed.push(name);
    }
    say(`Pushed ${pushed.join(', ')}${digest ? ` (${digest})` : ''}`);
  } else if (registry) {
    say(`Not pushed to ${registry}: the test failed`);
  }
  return {
    ...base,
    imageId,
    outcome: test === 'failed' ? 'test-failed' : 'passed',
    build: 'succeeded',
    test,
    testExitCode,
    pushed,
    digest,
    log: lines.text(),
    finishedAt: new Date().toISOString(),
    record,
  };
}
