/**
 * Promote to… (wharf.promote) and Promote to Next Stage (wharf.promoteToNextStage). The node is a
 * Registries tag, an Images-tree image, or any object with a `ref` string. Tests and scripts may
 * pass `{ target, via, platforms }` as the second argument to skip the prompts.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { WharfError } from '../../engines/core/errors';
import { DEFAULT_ENGINE_ID } from '../../engines/docker/engineSet';
import { formatBytes } from '../../engines/promote/copy';
import { promote, type PromoteResult, type PromoteWay } from '../../engines/promote/promote';
import { loadPipeline, nextStage, parsePipeline, stageOf, type Pipeline, type Stage } from '../../engines/promote/stages';
import { parseReference } from '../../engines/registry/reference';
import { dockerExplorer } from '../docker/explorer';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { settings } from '../settings';
import { requireTrust } from '../trust';
import { editorCredentials, registryName } from './credentials';
import { registriesTree } from './feature';
import { validateWith } from '../validate';

export interface PromoteArgs {
  /** Full target reference; skips the pickers. */
  target?: string;
  via?: PromoteWay | 'auto';
  platforms?: string[];
  /** Do not show the summary notification (tests). */
  quiet?: boolean;
}

interface SourceInfo {
  ref: string;
  engineId?: string;
}

/** Accepts our tag node, an Images-tree node ({ image: { reference }, engineId }) or { ref }. */
function sourceOf(node: unknown): SourceInfo | undefined {
  const value = node as { ref?: unknown; image?: { reference?: unknown }; engineId?: unknown } | undefined;
  if (typeof value?.ref === 'string') return { ref: value.ref, engineId: typeof value.engineId === 'string' ? value.engineId : undefined };
  if (typeof value?.image?.reference === 'string') return { ref: value.image.reference, engineId: typeof value.engineId === 'string' ? value.engineId : undefined };
  return undefined;
}

function workspaceDir(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The workspace's .wharf/pipeline.json, else the wharf.pipeline setting, else none. */
async function pipeline(): Promise<Pipeline | undefined> {
  const dir = workspaceDir();
  const fromFile = dir ? await loadPipeline(dir) : undefined;
  if (fromFile) return fromFile;
  const fromSettings = settings.pipeline();
  return fromSettings?.stages?.length ? parsePipeline(fromSettings, 'setting wharf.pipeline') : undefined;
}

async function askSource(): Promise<SourceInfo | undefined> {
  const ref = await vscode.window.showInputBox({
    title: 'Promote: source image',
    prompt: 'The image to promote: registry/repository:tag, or a local image name',
    ignoreFocusOut: true,
    validateInput: validateWith(parseReference),
  });
  return ref ? { ref } : undefined;
}

/** QuickPick of stages and registries, then an InputBox prefilled with registry/repo:tag. */
async function askTarget(source: string, stages: Pipeline | undefined): Promise<{ target: string; stage?: Stage } | undefined> {
  const parsed = parseReference(source);
  type Item = vscode.QuickPickItem & { registry: string; stage?: Stage };
  const items: Item[] = [];
  for (const stage of stages?.stages ?? []) {
    if (stage.registry === parsed.registry) continue;
    items.push({ label: `$(rocket) ${stage.name}`, description: stage.registry, detail: stage.gate ? 'gate runs before the push' : undefined, registry: stage.registry, stage });
  }
  for (const setting of settings.registries()) {
    const registry = registryName(setting);
    if (items.some((item) => item.registry === registry)) continue;
    items.push({ label: `$(server) ${setting.name || registry}`, description: registry, registry });
  }
  if (!items.length) throw new WharfError({ code: 'bad-input', object: 'Promote', cause: 'no target registry configured', remedy: 'Add a registry (Wharf: Add Registry…) or a .wharf/pipeline.json' });
  const picked = await vscode.window.showQuickPick(items, { title: `Promote ${source} to…`, placeHolder: 'Target stage or registry', ignoreFocusOut: true });
  if (!picked) return undefined;
  const target = await vscode.window.showInputBox({
    title: `Promote ${source}`,
    prompt: 'Target repository and tag',
    value: `${picked.registry}/${parsed.repository}:${parsed.tag ?? 'latest'}`,
    ignoreFocusOut: true,
    validateInput: validateWith(parseReference),
  });
  return target ? { target, stage: picked.stage } : undefined;
}

async function run(services: Services, source: SourceInfo, target: string, stage: Stage | undefined, args: PromoteArgs | undefined): Promise<PromoteResult> {
  const tree = registriesTree(services);
  const stageInfo = stage ?? (await pipeline().then((p) => (p ? stageOf(p, parseReference(target).registry) : undefined)));
  const result = await withEditorProgress(`Promoting ${source.ref} → ${target}`, ({ signal, progress }) =>
    promote({
      source: source.ref,
      target,
      via: args?.via ?? 'auto',
      platforms: args?.platforms,
      credentials: editorCredentials(services.secrets),
      clients: tree.clientCache,
      docker: () => dockerExplorer(services).engines.docker(source.engineId ?? DEFAULT_ENGINE_ID),
      gate: stageInfo?.gate ? { ...stageInfo.gate, cwd: stageInfo.gate.cwd ?? workspaceDir() } : undefined,
      stage: stageInfo?.name,
      recordIn: workspaceDir(),
      signal,
      progress,
      log: services.log,
    }),
  );
  const summary = result.summary
    ? `copied ${result.summary.copied}, skipped ${result.summary.skipped}, mounted ${result.summary.mounted} blob(s), moved ${formatBytes(result.summary.bytes)}`
    : (result.steps ?? []).filter((step) => !step.skipped).map((step) => step.step).join(' → ');
  services.log.info(`promoted ${result.source} → ${result.target} via ${result.via}: ${summary}; digest ${result.digest ?? 'unknown'}${result.recordFile ? `; recorded in ${path.relative(workspaceDir() ?? '', result.recordFile)}` : ''}`);
  tree.refreshRegistry(parseReference(target).registry);
  if (!args?.quiet) void vscode.window.showInformationMessage(`Wharf: promoted to ${result.target} (${summary})${result.digest ? `, digest ${result.digest.slice(0, 19)}…` : ''}`);
  return result;
}

export async function promoteCommand(services: Services, node?: unknown, args?: PromoteArgs): Promise<PromoteResult | undefined> {
  if (!requireTrust('Promoting an image')) return undefined;
  const source = sourceOf(node) ?? (await askSource());
  if (!source) return undefined;
  const stages = await pipeline();
  let target = args?.target;
  let stage: Stage | undefined;
  if (!target) {
    const chosen = await askTarget(source.ref, stages);
    if (!chosen) return undefined;
    target = chosen.target;
    stage = chosen.stage;
  }
  return run(services, source, target, stage, args);
}

export async function promoteToNextStageCommand(services: Services, node?: unknown, args?: PromoteArgs): Promise<PromoteResult | undefined> {
  if (!requireTrust('Promoting an image')) return undefined;
  const source = sourceOf(node) ?? (await askSource());
  if (!source) return undefined;
  const stages = await pipeline();
  if (!stages) throw new WharfError({ code: 'bad-input', object: 'Promote to Next Stage', cause: 'no pipeline defined', remedy: 'Create .wharf/pipeline.json ({"stages": [{"name": "test", "registry": "..."}, …]}) or set wharf.pipeline' });
  const parsed = parseReference(source.ref);
  const stage = nextStage(stages, parsed.registry);
  const target = args?.target ?? `${stage.registry}/${parsed.repository}:${parsed.tag ?? 'latest'}`;
  return run(services, source, target, stage, args);
}
