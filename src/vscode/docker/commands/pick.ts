/**
 * Node-taking commands work from the context menu (VS Code passes the node) and from the palette,
 * where they ask for the object with a QuickPick over every engine's listing.
 */
import * as vscode from 'vscode';
import { WharfError } from '../../../engines/core/errors';
import type { ContainerState } from '../../../engines/docker/containers';
import type { Services } from '../../services';
import { dockerExplorer } from '../explorer';
import type { ContainerNode, EngineNode, ImageNode, RepositoryNode } from '../nodes';

/** Extra argument for callers that already confirmed (tests, other commands). */
export interface CommandOptions {
  confirmed?: boolean;
}

const cancelled = (object: string) => new WharfError({ code: 'cancelled', object, cause: 'nothing was chosen' });

export async function pickImage(services: Services, node: unknown, options: { allowDangling?: boolean } = {}): Promise<ImageNode> {
  if (isNode<ImageNode>(node, 'image')) return node;
  const explorer = dockerExplorer(services);
  const items: (vscode.QuickPickItem & { node: ImageNode })[] = [];
  await Promise.all(
    explorer.engines.list.map(async (handle) => {
      const listing = await explorer.engines.images(handle);
      if (!listing.ok) return;
      for (const image of listing.items) {
        if (image.dangling && !options.allowDangling) continue;
        const parent: RepositoryNode = { type: 'repository', id: '', parent: { type: 'engine', view: 'images', id: '', engineId: handle.id, name: handle.config.name }, repository: image.repository, tags: [] };
        items.push({ label: image.dangling ? image.id.slice(7, 19) : image.reference, description: handle.config.name, node: { type: 'image', id: '', parent, engineId: handle.id, image } });
      }
    }),
  );
  const chosen = await vscode.window.showQuickPick(items, { placeHolder: 'Choose an image', matchOnDescription: true });
  if (!chosen) throw cancelled('image');
  return chosen.node;
}

export async function pickContainer(services: Services, node: unknown, states?: ContainerState[]): Promise<ContainerNode> {
  if (isNode<ContainerNode>(node, 'container')) return node;
  const explorer = dockerExplorer(services);
  const items: (vscode.QuickPickItem & { node: ContainerNode })[] = [];
  await Promise.all(
    explorer.engines.list.map(async (handle) => {
      const listing = await explorer.engines.containers(handle);
      if (!listing.ok) return;
      const parent: EngineNode = { type: 'engine', view: 'containers', id: '', engineId: handle.id, name: handle.config.name };
      for (const container of listing.items) {
        if (states && !states.includes(container.state)) continue;
        items.push({ label: container.name, description: `${container.image} · ${container.status} · ${handle.config.name}`, node: { type: 'container', id: '', parent, engineId: handle.id, container } });
      }
    }),
  );
  const chosen = await vscode.window.showQuickPick(items, { placeHolder: 'Choose a container', matchOnDescription: true });
  if (!chosen) throw cancelled('container');
  return chosen.node;
}

export async function pickEngine(services: Services, node: unknown, placeHolder = 'Choose an engine'): Promise<string> {
  if (isNode<EngineNode>(node, 'engine')) return node.engineId;
  const engines = dockerExplorer(services).engines.list;
  if (engines.length === 1) return engines[0].id;
  const chosen = await vscode.window.showQuickPick(
    engines.map((handle) => ({ label: handle.config.name, description: handle.config.host ?? handle.config.context ?? 'DOCKER_HOST / current context', id: handle.id })),
    { placeHolder },
  );
  if (!chosen) throw cancelled('engine');
  return chosen.id;
}

/** A modal confirmation for destructive work; true when confirmed (or already confirmed). */
export async function confirm(message: string, action: string, options?: CommandOptions): Promise<boolean> {
  if (options?.confirmed) return true;
  return (await vscode.window.showWarningMessage(message, { modal: true }, action)) === action;
}

function isNode<T extends { type: string }>(value: unknown, type: T['type']): value is T {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}
