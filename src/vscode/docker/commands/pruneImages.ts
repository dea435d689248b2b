/** Removes the dangling images of an engine after confirmation, and says how much space came back. */
import * as vscode from 'vscode';
import { formatSize } from '../../../engines/docker/images';
import { pruneDanglingImages } from '../../../engines/docker/imageOps';
import type { Services } from '../../services';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import { confirm, pickEngine, type CommandOptions } from './pick';

export async function pruneImages(services: Services, node?: unknown, _selected?: unknown, options?: CommandOptions): Promise<{ deleted: number; spaceReclaimed: number } | undefined> {
  if (!requireTrust('Pruning images')) return undefined;
  const engineId = await pickEngine(services, node, 'Prune dangling images on which engine?');
  const explorer = dockerExplorer(services);
  const name = explorer.engines.get(engineId)?.config.name ?? engineId;
  if (!(await confirm(`Remove every dangling (untagged) image on engine ${name}? Tagged images are kept.`, 'Prune', options))) return undefined;
  const result = await pruneDanglingImages(await explorer.engines.docker(engineId));
  const message = `Pruned ${result.deleted} dangling ${result.deleted === 1 ? 'image' : 'images'} on ${name}, reclaimed ${formatSize(result.spaceReclaimed)}.`;
  services.log.info(message);
  void vscode.window.showInformationMessage(`Wharf: ${message}`);
  explorer.refresh.refresh('images', 'command');
  return result;
}
