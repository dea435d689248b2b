/**
 * Builds a Dockerfile with the engine's classic builder (Engine API /build, version=1, no BuildKit)
 * and records what each step did: cache hit or miss, the image it made, its size and time, and why
 * the first miss missed. The cause is predicted from the cache graph before the build starts, when
 * the state that decides it is still there.
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fromNetworkError, messageOf, WharfError } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { BuildEvent, BuildStreamParser } from './buildStream';
import { ImageGraph } from './cacheGraph';
import { BuildContext, toSlash } from './context';
import { contextTarStream, type ExtraFile } from './contextTar';
import { parseDockerfile, type ParsedDockerfile } from './dockerfile';
import { diffFiles, planSteps, predictFromPlans, type Prediction } from './predict';
import type { BuildRecord, BuildRecordStore, StepRecord } from './records';

export interface BuildOptions extends WorkOptions {
  dockerfile: string;
  /** The build context folder; defaults to the Dockerfile's folder. */
  context?: string;
  tag?: string;
  noCache?: boolean;
  buildArgs?: Record<string, string>;
  /** Where the last build per Dockerfile is kept; without it nothing is stored. */
  store?: BuildRecordStore;
  /** A label for the engine, stored in the record. */
  engine: string;
  /** Every progress event, for a terminal or an output channel. */
  onEvent?: (event: BuildEvent) => void;
}

export interface BuildResult {
  record: BuildRecord;
  /** What the cache was expected to do, computed just before the build. */
  prediction: Prediction;
}

/** Reads and parses a Dockerfile; syntax errors become one error naming the first bad line. */
export async function loadDockerfile(file: string): Promise<ParsedDockerfile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new WharfError({ code: 'not-found', object: `Dockerfile ${file}`, cause: messageOf(error), remedy: 'Check the path' });
  }
  return parseDockerfile(text);
}

export function assertParsed(parsed: ParsedDockerfile, file: string): void {
  const error = parsed.problems.find((problem) => problem.severity === 'error');
  if (error) throw new WharfError({ code: 'bad-input', object: `${file}:${error.line + 1}`, cause: error.message, remedy: 'Fix the Dockerfile and build again' });
}

export async function buildDockerfile(docker: Docker, options: BuildOptions): Promise<BuildResult> {
  const dockerfile = path.resolve(options.dockerfile);
  const contextDir = path.resolve(options.context ?? path.dirname(dockerfile));
  const parsed = await loadDockerfile(dockerfile);
  assertParsed(parsed, dockerfile);
  const context = await BuildContext.open(contextDir, { dockerfile });
  const previous = await options.store?.read(dockerfile);
  const plans = await planSteps(parsed, context, options);
  const graph = await ImageGraph.load(docker, options.signal);
  const prediction = await predictFromPlans(docker, parsed, plans, { graph, previous, noCache: options.noCache });

  // A Dockerfile outside the context travels in the tar under a private name, as the docker CLI does.
  let relDockerfile = toSlash(path.relative(contextDir, dockerfile));
  const extra: ExtraFile[] = [];
  if (relDockerfile.startsWith('../') || path.isAbsolute(relDockerfile)) {
    const content = await readFile(dockerfile);
    relDockerfile = `.wharf-dockerfile-${createHash('sha256').update(content).digest('hex').slice(0, 12)}`;
    extra.push({ name: relDockerfile, content });
  }

  const startedAt = new Date();
  const steps: StepRecord[] = parsed.instructions.map((instruction, index) => ({
    step: instruction.step,
    keyword: instruction.keyword,
    text: `${instruction.keyword} ${instruction.args}`,
    line: instruction.line,
    endLine: instruction.endLine,
    stage: instruction.stage,
    cache: 'not-run',
    ...(plans[index].sourceHash ? { sourceHash: plans[index].sourceHash, files: plans[index].files } : {}),
  }));
  let current: StepRecord | undefined;
  let stepStart = 0;
  let errorMessage: string | undefined;
  let builtId: string | undefined;
  const finishStep = () => {
    if (current && current.durationMs === undefined) current.durationMs = Date.now() - stepStart;
  };
  const parser = new BuildStreamParser((event) => {
    options.onEvent?.(event);
    switch (event.type) {
      case 'step':
        finishStep();
        current = steps[event.step - 1];
        stepStart = Date.now();
        if (current) current.cache = current.keyword === 'FROM' ? 'base' : 'miss';
        options.progress?.report({ message: `Step ${event.step}/${event.total}: ${event.text.slice(0, 60)}`, completed: event.step - 1, total: event.total });
        break;
      case 'cache':
        if (current) current.cache = 'hit';
        break;
      case 'image':
        if (current) current.imageId = event.id;
        break;
      case 'built':
        builtId = event.id;
        break;
      case 'error':
        errorMessage = event.message;
        break;
      default:
        break;
    }
  });

  let status: BuildRecord['status'] = 'succeeded';
  try {
    const stream = await docker.buildImage(contextTarStream(context, extra), {
      t: options.tag,
      dockerfile: relDockerfile,
      nocache: options.noCache ?? false,
      rm: true,
      forcerm: true,
      // The classic builder: its cache is the local image graph that the analysis reads.
      version: '1',
      ...(options.buildArgs ? { buildargs: JSON.stringify(options.buildArgs) } : {}),
      abortSignal: options.signal,
    } as unknown as Docker.ImageBuildOptions);
    for await (const chunk of stream as AsyncIterable<Buffer>) parser.push(chunk);
    parser.end();
  } catch (error) {
    parser.end();
    if (options.signal?.aborted) status = 'cancelled';
    else if (!errorMessage) throw fromNetworkError(error, `build of ${dockerfile}`, 'Check that the engine runs, or choose another engine');
  }
  finishStep();
  if (errorMessage) status = 'failed';
  if (current && status !== 'succeeded' && !current.imageId) current.cache = status === 'failed' ? 'failed' : 'not-run';

  // Full ids and layer sizes: the builder prints short ids; size = image size minus its parent's.
  for (const step of steps) {
    if (!step.imageId) continue;
    try {
      const info = (await docker.getImage(step.imageId).inspect()) as unknown as { Id: string; Size: number; Parent?: string };
      step.imageId = info.Id;
      const parentSize = info.Parent ? ((await docker.getImage(info.Parent).inspect()) as unknown as { Size: number }).Size : 0;
      step.size = step.keyword === 'FROM' ? info.Size : Math.max(0, info.Size - parentSize);
    } catch {
      // The image went away meanwhile (pruned): keep the short id.
    }
  }

  const failedStep = status === 'failed' ? current : undefined;
  const record: BuildRecord = {
    version: 1,
    dockerfile,
    context: contextDir,
    engine: options.engine,
    tag: options.tag,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    status,
    noCache: options.noCache ?? false,
    imageId: status === 'succeeded' ? (steps[steps.length - 1]?.imageId ?? builtId) : undefined,
    baseImageIds: parsed.stages.map((stage) => prediction.steps.find((step) => step.line === stage.line)?.imageId),
    steps,
    ...(errorMessage || status === 'cancelled'
      ? { error: { message: errorMessage ?? 'cancelled by the user', step: failedStep?.step, line: failedStep?.line, endLine: failedStep?.endLine } }
      : {}),
    churn: { ...(previous?.churn ?? {}) },
    builds: (previous?.builds ?? 0) + 1,
  };

  const firstMiss = steps.find((step) => step.cache === 'miss' || step.cache === 'failed');
  if (firstMiss) {
    const predicted = prediction.steps.find((step) => step.step === firstMiss.step);
    const cause =
      predicted?.outcome === 'miss' && predicted.cause
        ? predicted.cause
        : { kind: 'unpredictable' as const, message: 'the engine did not reuse the cached image it had for this step (its cache changed during the build)' };
    record.firstMiss = { step: firstMiss.step, line: firstMiss.line, cause };
  }
  if (previous) {
    for (const step of steps) {
      const before = previous.steps.find((candidate) => candidate.step === step.step && candidate.text === step.text);
      if (!step.files || !before?.files) continue;
      for (const file of diffFiles(before.files, step.files)) record.churn[file] = (record.churn[file] ?? 0) + 1;
    }
  }
  await options.store?.write(record);
  return { record, prediction };
}
