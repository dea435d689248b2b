/**
 * Predicts, before building, which steps the classic builder will take from its cache: walk the
 * engine's image graph from the base image, and at each step look for a child image whose command is
 * the step's command (for COPY/ADD that includes the checksum of the copied context files).
 */
import type Docker from 'dockerode';
import path from 'node:path';
import { canonical, canonicalCmd, ImageGraph } from './cacheGraph';
import type { BuildContext } from './context';
import { splitWords, substitute, unquote, type Instruction, type ParsedDockerfile } from './dockerfile';
import type { BuildRecord, CacheOutcome, MissCause } from './records';

export interface StepPlan {
  instruction: Instruction;
  /** The canonical command the cache compares; undefined for FROM. */
  key?: string;
  /** The shell that prefixes RUN commands in this stage. */
  shell: string[];
  sourceHash?: string;
  files?: Record<string, string>;
  /** COPY/ADD sources that match nothing in the context: the build will fail there. */
  missing?: string[];
  /** COPY --from: content comes from another image, not the context. */
  fromStage?: string;
  /** ADD of a URL: the builder downloads it each time, the cache depends on its content. */
  remote?: boolean;
  /** FROM: the image reference after ARG substitution. */
  image?: string;
}

export interface PredictedStep {
  step: number;
  line: number;
  endLine: number;
  keyword: string;
  text: string;
  outcome: CacheOutcome;
  /** For a hit, the cached image it reuses; for FROM, the base image. */
  imageId?: string;
  cause?: MissCause;
}

export interface Prediction {
  steps: PredictedStep[];
  hits: number;
  misses: number;
  firstMiss?: PredictedStep;
}

export interface PlanOptions {
  buildArgs?: Record<string, string>;
}

/** Computes each step's cache key from the Dockerfile and the context, as the builder will. */
export async function planSteps(parsed: ParsedDockerfile, context: BuildContext | undefined, options: PlanOptions = {}): Promise<StepPlan[]> {
  const plans: StepPlan[] = [];
  const globals: Record<string, string | undefined> = { ...parsed.globalArgs, ...options.buildArgs };
  let vars: Record<string, string | undefined> = { ...globals };
  let workdir = '/';
  let shell = ['/bin/sh', '-c'];
  for (const instruction of parsed.instructions) {
    const { keyword, args, json } = instruction;
    const plan: StepPlan = { instruction, shell };
    const words = json ?? splitWords(args);
    switch (keyword) {
      case 'FROM':
        vars = { ...globals };
        workdir = '/';
        shell = ['/bin/sh', '-c'];
        plan.shell = shell;
        plan.image = substitute(words[0], globals);
        break;
      case 'RUN':
        plan.key = canonical(`RUN ${json ? json.join(' ') : args}`);
        break;
      case 'COPY':
      case 'ADD': {
        const all = (json ?? splitWords(args)).map((word) => substitute(word, vars));
        const dest = all[all.length - 1];
        const sources = all.slice(0, -1);
        const chown = instruction.flags.chown ? `--chown=${instruction.flags.chown} ` : '';
        if (instruction.flags.from) plan.fromStage = instruction.flags.from.toLowerCase();
        else if (keyword === 'ADD' && sources.some((source) => /^https?:\/\//.test(source))) plan.remote = true;
        else if (context) {
          const hashed = await context.sourceHash(sources);
          plan.sourceHash = hashed.hash;
          plan.files = hashed.files;
          if (hashed.missing.length) plan.missing = hashed.missing;
          plan.key = canonical(`${keyword} ${chown}${hashed.hash} in ${dest} `);
        }
        // Without a hash the key matches on destination only (see matchKey).
        if (!plan.key) plan.key = canonical(`${keyword} ${chown}* in ${dest}`);
        break;
      }
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, substitute(unquote(args), vars));
        plan.key = canonical(`WORKDIR ${workdir}`);
        break;
      case 'ENV':
      case 'LABEL': {
        const pairs = envPairs(args, vars);
        if (keyword === 'ENV') for (const [name, value] of pairs) vars[name] = value;
        plan.key = canonical(`${keyword} ${pairs.map(([name, value]) => `${name}=${value}`).join(' ')}`);
        break;
      }
      case 'ARG':
        for (const word of words) {
          const eq = word.indexOf('=');
          const name = eq < 0 ? word : word.slice(0, eq);
          vars[name] = options.buildArgs?.[name] ?? (eq < 0 ? vars[name] : word.slice(eq + 1));
        }
        plan.key = canonical(`ARG ${words.join(' ')}`);
        break;
      case 'SHELL':
        if (json) shell = json;
        plan.key = canonical(`SHELL ${words.join(' ')}`);
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        plan.key = canonical(`${keyword} ${json ? json.join(' ') : `${shell.join(' ')} ${args}`}`);
        break;
      default:
        plan.key = canonical(`${keyword} ${substitute(args, vars)}`);
    }
    plans.push(plan);
  }
  return plans;
}

function envPairs(args: string, vars: Record<string, string | undefined>): [string, string][] {
  const words = splitWords(args);
  if (words.length && !words[0].includes('=')) return [[words[0], substitute(words.slice(1).join(' '), vars)]];
  return words.map((word) => {
    const eq = word.indexOf('=');
    return [word.slice(0, eq), substitute(word.slice(eq + 1), vars)] as [string, string];
  });
}

/** True when a cached image's command is this step's command. */
export function matchKey(plan: StepPlan, cmd: string[]): boolean {
  const cached = canonicalCmd(cmd, plan.shell);
  if (!plan.key) return false;
  if (!plan.key.includes(' * in ')) return cached === plan.key;
  const [head, dest] = plan.key.split(' * in ');
  return cached.startsWith(`${head} `) && cached.endsWith(` in ${dest}`);
}

export interface PredictOptions extends PlanOptions {
  graph?: ImageGraph;
  previous?: BuildRecord;
  noCache?: boolean;
  signal?: AbortSignal;
}

export async function predictBuild(docker: Docker, parsed: ParsedDockerfile, context: BuildContext | undefined, options: PredictOptions = {}): Promise<Prediction> {
  const plans = await planSteps(parsed, context, options);
  return predictFromPlans(docker, parsed, plans, options);
}

export async function predictFromPlans(docker: Docker, parsed: ParsedDockerfile, plans: StepPlan[], options: PredictOptions = {}): Promise<Prediction> {
  const graph = options.graph ?? (await ImageGraph.load(docker, options.signal));
  const previous = options.previous;
  const steps: PredictedStep[] = [];
  const stageEnd = new Map<number, string | undefined>();
  const stageAllHit = new Map<number, boolean>();
  let parent: string | undefined;
  let missed = false;
  let stageCause: MissCause | undefined;
  let firstMissLine = -1;

  for (const plan of plans) {
    const { instruction } = plan;
    const base: PredictedStep = { step: instruction.step, line: instruction.line, endLine: instruction.endLine, keyword: instruction.keyword, text: `${instruction.keyword} ${instruction.args}`, outcome: 'miss' };
    if (instruction.keyword === 'FROM') {
      if (parent !== undefined || steps.length) stageEnd.set(instruction.stage - 1, missed ? undefined : parent);
      if (steps.length) stageAllHit.set(instruction.stage - 1, !missed);
      missed = false;
      stageCause = undefined;
      const image = plan.image ?? '';
      const stageRef = parsed.stages.findIndex((stage, index) => index < instruction.stage && stage.name === image.toLowerCase());
      if (stageRef >= 0) {
        parent = stageEnd.get(stageRef);
        if (!parent) {
          missed = true;
          stageCause = { kind: 'parent-changed', message: `stage "${image}" is rebuilt, so this stage starts from a new image` };
        }
        steps.push({ ...base, outcome: 'base', imageId: parent });
        continue;
      }
      parent = await graph.resolve(image);
      if (!parent) {
        missed = true;
        stageCause = { kind: 'base-missing', message: `base image ${image} is not on this engine: the build pulls it and rebuilds every step` };
      } else {
        const was = previous?.baseImageIds[instruction.stage];
        if (was && was !== parent) stageCause = { kind: 'parent-changed', message: `base image ${image} now resolves to ${short(parent)} (the last build used ${short(was)})` };
      }
      steps.push({ ...base, outcome: 'base', imageId: parent });
      continue;
    }
    if (missed || !parent) {
      steps.push({ ...base, cause: { kind: 'parent-changed', message: firstMissLine >= 0 ? `an earlier step (line ${firstMissLine + 1}) is rebuilt, so every later step is too` : (stageCause?.message ?? 'the parent image is new') } });
      missed = true;
      continue;
    }
    const children = await graph.children(parent);
    let match = options.noCache ? undefined : children.find((child) => matchKey(plan, child.cmd));
    if (match && plan.fromStage) {
      const source = parsed.stages.find((stage) => stage.name === plan.fromStage || String(stage.index) === plan.fromStage);
      // Content from a stage that is rebuilt may differ: the builder re-hashes it, we cannot.
      if (source && stageAllHit.get(source.index) === false) match = undefined;
    }
    if (plan.remote) match = undefined;
    if (match) {
      steps.push({ ...base, outcome: 'hit', imageId: match.id });
      parent = match.id;
      continue;
    }
    const cause = options.noCache ? { kind: 'no-cache' as const, message: 'built with --no-cache: every step runs' } : (stageCause ?? explainMiss(plan, children.map((child) => child.cmd), previous));
    steps.push({ ...base, cause });
    if (firstMissLine < 0) firstMissLine = instruction.line;
    missed = true;
  }
  const hits = steps.filter((step) => step.outcome === 'hit').length;
  const misses = steps.filter((step) => step.outcome === 'miss').length;
  return { steps, hits, misses, firstMiss: steps.find((step) => step.outcome === 'miss') };
}

/** Why no cached child matches: a changed source, a changed instruction, or no cache at all. */
export function explainMiss(plan: StepPlan, siblingCmds: string[][], previous?: BuildRecord): MissCause {
  const { instruction } = plan;
  const text = `${instruction.keyword} ${instruction.args}`;
  const before = previous?.steps.find((step) => step.step === instruction.step && step.keyword === instruction.keyword) ?? previous?.steps.find((step) => step.text === text);
  if (plan.remote) return { kind: 'unpredictable', message: 'ADD of a URL: the builder downloads it and compares its content' };
  if (plan.missing?.length) return { kind: 'source-changed', message: `${plan.missing.join(', ')} not found in the build context (or excluded by .dockerignore)`, files: plan.missing };
  if ((instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && plan.files) {
    if (before?.files && before.text === text) {
      const changed = diffFiles(before.files, plan.files);
      if (changed.length) return { kind: 'source-changed', message: `copied files changed: ${listFiles(changed)}`, files: changed };
    }
    const sameDest = siblingCmds.some((cmd) => matchKey({ ...plan, key: plan.key?.replace(/ (file|dir|multi):[0-9a-f]{64} in /, ' * in ') }, cmd));
    if (sameDest) return { kind: 'source-changed', message: `the content of ${instruction.args.split(/\s+/).slice(0, -1).join(' ')} differs from the cached layer`, files: [] };
  }
  if (before && before.text !== text) return { kind: 'instruction-changed', message: `the instruction changed (was: ${before.text})`, previous: before.text };
  // Without a record of this Dockerfile, siblings built from other Dockerfiles say nothing about this one.
  return { kind: 'no-cached-layer', message: siblingCmds.length ? 'no cached image matches this step on top of its parent (first build of it on this engine, or the cache was pruned)' : 'no cached layer on this engine for this step yet (first build, or the cache was pruned)' };
}

export function diffFiles(before: Record<string, string>, after: Record<string, string>): string[] {
  const changed: string[] = [];
  for (const [file, sum] of Object.entries(after)) if (before[file] !== sum) changed.push(file);
  for (const file of Object.keys(before)) if (!(file in after)) changed.push(file);
  return changed.sort();
}

function listFiles(files: string[]): string {
  return files.length > 5 ? `${files.slice(0, 5).join(', ')} and ${files.length - 5} more` : files.join(', ');
}

function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
