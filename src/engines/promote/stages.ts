/**
 * The pipeline: ordered stages, each a registry (test → stage → prod). Read from the workspace file
 * `.wharf/pipeline.json` (shared with the team through the repository) or passed in from settings.
 * "Next stage" is the stage after the one whose registry holds the source.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WharfError, messageOf } from '../core/errors';
import { parseRegistryAddress } from '../registry/address';
import { normalizeRegistry } from '../registry/reference';
import { validateGate, type Gate } from './gate';

export interface Stage {
  name: string;
  /** host[:port] */
  registry: string;
  /** Must pass before anything is pushed into this stage. */
  gate?: Gate;
}

export interface Pipeline {
  stages: Stage[];
  /** Where it came from, for messages. */
  origin: string;
}

export const PIPELINE_FILE = path.join('.wharf', 'pipeline.json');

export function parsePipeline(value: unknown, origin: string): Pipeline {
  const bad = (cause: string) => new WharfError({ code: 'bad-input', object: origin, cause, remedy: 'Write {"stages": [{"name": "test", "registry": "host:port"}, {"name": "stage", "registry": "..."}]}' });
  const stages = (value as { stages?: unknown })?.stages;
  if (!Array.isArray(stages) || !stages.length) throw bad('no "stages" list');
  const seen = new Set<string>();
  const parsed = stages.map((entry: unknown, index) => {
    const stage = entry as Partial<Stage>;
    if (!stage || typeof stage.name !== 'string' || !stage.name) throw bad(`stage ${index + 1} has no name`);
    if (typeof stage.registry !== 'string' || !stage.registry) throw bad(`stage "${stage.name}" has no registry`);
    if (seen.has(stage.name)) throw bad(`stage "${stage.name}" appears twice`);
    seen.add(stage.name);
    const registry = normalizeRegistry(parseRegistryAddress(stage.registry).name);
    return { name: stage.name, registry, gate: stage.gate ? validateGate(stage.gate, `${origin}: gate of stage "${stage.name}"`) : undefined };
  });
  return { stages: parsed, origin };
}

/** The workspace's pipeline, or undefined when the file does not exist. */
export async function loadPipeline(workspaceDir: string): Promise<Pipeline | undefined> {
  const file = path.join(workspaceDir, PIPELINE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WharfError({ code: 'failed', object: file, cause: messageOf(error), remedy: 'Check the file\'s permissions' });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new WharfError({ code: 'bad-input', object: file, cause: `not JSON: ${messageOf(error)}`, remedy: 'Fix the JSON' });
  }
  return parsePipeline(json, file);
}

export function stageOf(pipeline: Pipeline, registry: string): Stage | undefined {
  const name = normalizeRegistry(registry);
  return pipeline.stages.find((stage) => stage.registry === name);
}

export function stageNamed(pipeline: Pipeline, name: string): Stage | undefined {
  return pipeline.stages.find((stage) => stage.name === name);
}

/** The stage after the one holding `registry`; a clear error at the end or outside the pipeline. */
export function nextStage(pipeline: Pipeline, registry: string): Stage {
  const index = pipeline.stages.findIndex((stage) => stage.registry === normalizeRegistry(registry));
  if (index < 0) {
    throw new WharfError({ code: 'bad-input', object: `registry ${registry}`, cause: `is not a stage of the pipeline (${pipeline.stages.map((stage) => `${stage.name}=${stage.registry}`).join(' → ')})`, remedy: `Promote from a stage's registry, or add it to ${pipeline.origin}` });
  }
  if (index === pipeline.stages.length - 1) {
    throw new WharfError({ code: 'bad-input', object: `stage ${pipeline.stages[index].name}`, cause: 'is the last stage: there is no next one', remedy: 'Nothing to promote to; add a stage if you need one' });
  }
  return pipeline.stages[index + 1];
}
