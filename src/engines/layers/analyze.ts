/**
 * The layer report behind the CLI table and the webview: instructions ↔ layers (base layers
 * marked), sizes, what the last build's cache did and why it first missed, wasted bytes, advice,
 * and the next build's predicted hits. Works from an image alone (history only) too.
 */
import type Docker from 'dockerode';
import path from 'node:path';
import { fromNetworkError, WharfError } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { assertParsed, loadDockerfile } from './build';
import { BuildContext } from './context';
import type { DockerfileProblem, ParsedDockerfile } from './dockerfile';
import { predictBuild, type Prediction } from './predict';
import type { BuildRecord, BuildRecordStore, CacheOutcome, MissCause } from './records';
import { suggest, type Suggestion } from './suggestions';
import { measureWaste, type WastedReport } from './wasted';

export interface LayerRow {
  kind: 'base' | 'step';
  /** The history entry's command, or the instruction text when the step has no image yet. */
  createdBy: string;
  step?: number;
  keyword?: string;
  /** The Dockerfile instruction this row comes from, as written. */
  instruction?: string;
  line?: number;
  endLine?: number;
  imageId?: string;
  /** Bytes of the layer; undefined when not built. */
  size?: number;
  /** Index in the image's RootFS layers, when the row made a layer with files. */
  layer?: number;
  cache?: CacheOutcome;
  durationMs?: number;
  predicted?: CacheOutcome;
  cause?: MissCause;
  wastedBytes?: number;
}

export interface LayerReport {
  target: { kind: 'dockerfile' | 'image'; name: string; dockerfile?: string; context?: string; imageId?: string };
  engine: string;
  rows: LayerRow[];
  totalSize?: number;
  baseSize?: number;
  build?: { status: BuildRecord['status']; startedAt: string; finishedAt: string; hits: number; misses: number; error?: BuildRecord['error']; noCache: boolean };
  firstMiss?: { step: number; line: number; text: string; cause: MissCause };
  waste?: WastedReport;
  prediction?: Prediction;
  suggestions: Suggestion[];
  problems: DockerfileProblem[];
  notes: string[];
}

export interface AnalyzeOptions extends WorkOptions {
  engine: string;
  store?: BuildRecordStore;
  /** Read the layers (docker save) to measure wasted bytes; on by default. */
  waste?: boolean;
  /** Predict the next build (Dockerfile targets only); on by default. */
  predict?: boolean;
  context?: string;
  buildArgs?: Record<string, string>;
}

interface HistoryEntry {
  Id: string;
  CreatedBy: string;
  Size: number;
  Tags: string[] | null;
}

/** `wharf layers Dockerfile`: the last build of it (if any), plus the prediction for the next one. */
export async function analyzeDockerfile(docker: Docker, dockerfile: string, options: AnalyzeOptions): Promise<LayerReport> {
  const file = path.resolve(dockerfile);
  const parsed = await loadDockerfile(file);
  const contextDir = path.resolve(options.context ?? path.dirname(file));
  const record = await options.store?.read(file);
  const report: LayerReport = {
    target: { kind: 'dockerfile', name: file, dockerfile: file, context: contextDir },
    engine: options.engine,
    rows: [],
    suggestions: [],
    problems: parsed.problems,
    notes: [],
  };
  if (parsed.problems.some((problem) => problem.severity === 'error')) {
    report.suggestions = suggest(parsed, record, undefined, new Map());
    return report;
  }
  const imageId = record?.imageId && (await exists(docker, record.imageId)) ? record.imageId : undefined;
  if (imageId) {
    const fromImage = await analyzeImage(docker, imageId, { ...options, record, parsed });
    Object.assign(report, { rows: fromImage.rows, totalSize: fromImage.totalSize, baseSize: fromImage.baseSize, waste: fromImage.waste, notes: fromImage.notes });
    report.target.imageId = imageId;
  } else {
    if (record?.imageId) report.notes.push(`the last built image ${record.imageId.slice(7, 19)} is no longer on this engine`);
    // Not built (or failed): one row per instruction, with the last build's outcome where there is one.
    report.rows = parsed.instructions.map((instruction) => {
      const step = record?.steps.find((candidate) => candidate.step === instruction.step);
      return {
        kind: 'step' as const,
        createdBy: `${instruction.keyword} ${instruction.args}`,
        instruction: `${instruction.keyword} ${instruction.args}`,
        step: instruction.step,
        keyword: instruction.keyword,
        line: instruction.line,
        endLine: instruction.endLine,
        imageId: step?.imageId,
        size: step?.size,
        cache: step?.cache,
        durationMs: step?.durationMs,
      };
    });
  }
  if (record) {
    report.build = {
      status: record.status,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      hits: record.steps.filter((step) => step.cache === 'hit').length,
      misses: record.steps.filter((step) => step.cache === 'miss' || step.cache === 'failed').length,
      error: record.error,
      noCache: record.noCache,
    };
    if (record.firstMiss) {
      const step = record.steps.find((candidate) => candidate.step === record.firstMiss?.step);
      report.firstMiss = { ...record.firstMiss, text: step?.text ?? '' };
      const row = report.rows.find((candidate) => candidate.step === record.firstMiss?.step);
      if (row) row.cause = record.firstMiss.cause;
    }
  }
  if (options.predict !== false) {
    try {
      const context = await BuildContext.open(contextDir, { dockerfile: file });
      report.prediction = await predictBuild(docker, parsed, context, { previous: record, buildArgs: options.buildArgs, signal: options.signal });
      for (const predicted of report.prediction.steps) {
        const row = report.rows.find((candidate) => candidate.step === predicted.step);
        if (row) row.predicted = predicted.outcome;
      }
    } catch (error) {
      if (error instanceof WharfError && error.code === 'not-found') report.notes.push(error.message);
      else throw error;
    }
  }
  report.suggestions = suggest(parsed, record, report.waste, layerLines(report.rows));
  return report;
}

/** `wharf layers IMAGE`: history and layers; instructions come from a build record when there is one. */
export async function analyzeImage(
  docker: Docker,
  image: string,
  options: AnalyzeOptions & { record?: BuildRecord; parsed?: ParsedDockerfile },
): Promise<LayerReport> {
  let info: { Id: string; Size: number; Parent?: string; RootFS?: { Layers?: string[] } };
  let history: HistoryEntry[];
  try {
    info = (await docker.getImage(image).inspect()) as unknown as typeof info;
    history = ((await docker.getImage(info.Id).history()) as HistoryEntry[]).slice().reverse();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new WharfError({ code: 'not-found', object: `image ${image}`, cause: 'no such image on this engine', remedy: 'Build it first, or pick an image from `docker images`' });
    }
    throw fromNetworkError(error, `image ${image}`, 'Check that the engine runs, or choose another engine');
  }
  const notes: string[] = [];
  const baseCount = await countBaseEntries(docker, info, history, options.record);
  if (baseCount === undefined) notes.push('base image unknown (no parent chain on this engine): every layer is listed as a step');

  // Which history entries made a file layer: an intermediate image's RootFS tells exactly (WORKDIR
  // can make one, a RUN always does); entries without an image fall back to the `#(nop)` rule.
  const makesLayer: boolean[] = [];
  let known = 0;
  for (const entry of history) {
    const count = entry.Id !== '<missing>' ? ((await docker.getImage(entry.Id).inspect().catch(() => undefined)) as unknown as { RootFS?: { Layers?: string[] } } | undefined)?.RootFS?.Layers?.length : undefined;
    const guess = !/#\(nop\)/.test(entry.CreatedBy) || /#\(nop\)\s+(COPY|ADD)\b/.test(entry.CreatedBy);
    const makes = count !== undefined ? count > known : guess;
    known = count ?? known + (guess ? 1 : 0);
    makesLayer.push(makes);
  }
  let layer = 0;
  const rows: LayerRow[] = history.map((entry, index) => {
    const row: LayerRow = {
      kind: baseCount !== undefined && index < baseCount ? 'base' : 'step',
      createdBy: entry.CreatedBy,
      imageId: entry.Id !== '<missing>' ? entry.Id : undefined,
      size: entry.Size,
    };
    if (makesLayer[index]) row.layer = layer++;
    return row;
  });

  // Steps ↔ history: by the ids the build recorded, else by order from the end.
  const record = options.record;
  const steps = record?.steps.filter((step) => step.keyword !== 'FROM' && step.stage === (record.baseImageIds.length - 1)) ?? [];
  const userRows = rows.filter((row) => row.kind === 'step');
  for (const step of steps) {
    const row = (step.imageId && userRows.find((candidate) => candidate.imageId === step.imageId)) || undefined;
    if (!row) continue;
    Object.assign(row, { step: step.step, keyword: step.keyword, instruction: step.text, line: step.line, endLine: step.endLine, cache: step.cache, durationMs: step.durationMs });
  }
  if (!record && options.parsed) {
    const instructions = options.parsed.instructions.filter((instruction) => instruction.keyword !== 'FROM' && instruction.stage === options.parsed!.stages.length - 1);
    const offset = userRows.length - instructions.length;
    instructions.forEach((instruction, index) => {
      const row = userRows[offset + index];
      if (row) Object.assign(row, { step: instruction.step, keyword: instruction.keyword, instruction: `${instruction.keyword} ${instruction.args}`, line: instruction.line, endLine: instruction.endLine });
    });
  }

  const firstUserLayer = rows.find((row) => row.kind === 'step' && row.layer !== undefined)?.layer ?? layer;
  let waste: WastedReport | undefined;
  if (options.waste !== false) {
    waste = await measureWaste(docker, info.Id, baseCount === undefined ? 0 : firstUserLayer, options);
    for (const file of waste.top) {
      const row = rows.find((candidate) => candidate.layer === file.addedIn);
      if (row && file.addedIn >= waste.firstUserLayer) row.wastedBytes = (row.wastedBytes ?? 0) + file.size;
    }
  }
  const baseSize = rows.filter((row) => row.kind === 'base').reduce((sum, row) => sum + (row.size ?? 0), 0);
  const report: LayerReport = {
    target: { kind: 'image', name: image, imageId: info.Id },
    engine: options.engine,
    rows,
    totalSize: info.Size,
    baseSize,
    waste,
    suggestions: [],
    problems: [],
    notes,
  };
  const parsed = options.parsed ?? (record ? await loadDockerfile(record.dockerfile).catch(() => undefined) : undefined);
  report.suggestions = suggest(parsed, record, waste, layerLines(rows));
  return report;
}

/** History entries that belong to the base image: from the record, else the nearest tagged ancestor. */
async function countBaseEntries(docker: Docker, info: { Id: string; Parent?: string }, history: HistoryEntry[], record?: BuildRecord): Promise<number | undefined> {
  let baseId = record?.baseImageIds[record.baseImageIds.length - 1];
  if (!baseId) {
    let parent = info.Parent;
    for (let hops = 0; parent && hops < 500; hops++) {
      const ancestor = (await docker.getImage(parent).inspect().catch(() => undefined)) as unknown as { Id: string; Parent?: string; RepoTags?: string[] } | undefined;
      if (!ancestor) break;
      if ((ancestor.RepoTags ?? []).some((tag) => tag !== '<none>:<none>')) {
        baseId = ancestor.Id;
        break;
      }
      parent = ancestor.Parent;
    }
  }
  if (!baseId) return undefined;
  const index = history.findIndex((entry) => entry.Id === baseId);
  return index >= 0 ? index + 1 : undefined;
}

function layerLines(rows: LayerRow[]): Map<number, number> {
  const lines = new Map<number, number>();
  for (const row of rows) if (row.layer !== undefined && row.line !== undefined) lines.set(row.layer, row.line);
  return lines;
}

async function exists(docker: Docker, id: string): Promise<boolean> {
  return docker
    .getImage(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

export { assertParsed };
