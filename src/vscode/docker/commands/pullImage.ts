/** Pulls a reference with progress in a cancellable notification; every progress line is checked for errors. */
import * as vscode from 'vscode';
import { pullImage as pull, type PullResult } from '../../../engines/docker/pull';
import type { Services } from '../../services';
import { withEditorProgress } from '../../progress';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import type { ExplorerNode } from '../nodes';
import { pickEngine } from './pick';

export async function pullImage(services: Services, node?: ExplorerNode, _selected?: unknown, reference?: string): Promise<PullResult | undefined> {
  if (!requireTrust('Pulling an image')) return undefined;
  const engineId = node && node.type === 'image' ? node.engineId : await pickEngine(services, node && node.type === 'engine' ? node : undefined, 'Pull into which engine?');
  const initial = node?.type === 'image' && !node.image.dangling ? node.image.reference : '';
  const ref = reference ?? (await vscode.window.showInputBox({ title: 'Pull Image', prompt: 'Image reference, e.g. registry:5000/team/app:1.2', value: initial, ignoreFocusOut: true }));
  if (!ref?.trim()) return undefined;
  const explorer = dockerExplorer(services);
  const docker = await explorer.engines.docker(engineId);
  const result = await withEditorProgress(`Pulling ${ref.trim()}`, ({ signal, progress }) => pull(docker, ref.trim(), { signal, progress, log: services.log }));
  services.log.info(`pull ${ref.trim()}: ${result.status ?? 'done'}`);
  explorer.refresh.refresh('images', 'command');
  return result;
}
