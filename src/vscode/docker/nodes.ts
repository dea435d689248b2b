/**
 * The Images and Containers trees hold plain data nodes; they become TreeItems only in
 * getTreeItem. Ids are built from what names an object (engine, repository, tag, container id),
 * never from what changes (uptime, status, size), so refreshes do not churn the tree.
 */
import type { ContainerSummary } from '../../engines/docker/containers';
import type { ImageTag } from '../../engines/docker/images';

export type ExplorerView = 'images' | 'containers';

export interface EngineNode {
  type: 'engine';
  view: ExplorerView;
  id: string;
  engineId: string;
  name: string;
  /** The resolved address, once known. */
  address?: string;
  /** Why the engine could not be listed. */
  error?: { message: string; code: string };
  /** Still connecting: the root did not wait for it (see RootLister). */
  pending?: boolean;
}

export interface MessageNode {
  type: 'message';
  id: string;
  parent: EngineNode;
  label: string;
  detail?: string;
  icon: string;
  command?: { command: string; title: string; arguments?: unknown[] };
}

export interface RepositoryNode {
  type: 'repository';
  id: string;
  parent: EngineNode;
  repository: string;
  tags: ImageTag[];
}

export interface ImageNode {
  type: 'image';
  id: string;
  parent: RepositoryNode;
  engineId: string;
  image: ImageTag;
}

export interface ProjectNode {
  type: 'project';
  id: string;
  parent: EngineNode;
  project: string;
  containers: ContainerSummary[];
}

export interface ContainerNode {
  type: 'container';
  id: string;
  parent: EngineNode | ProjectNode;
  engineId: string;
  container: ContainerSummary;
}

export type ImagesTreeNode = EngineNode | MessageNode | RepositoryNode | ImageNode;
export type ContainersTreeNode = EngineNode | MessageNode | ProjectNode | ContainerNode;
export type ExplorerNode = ImagesTreeNode | ContainersTreeNode;

export const CONTEXT = {
  engine: 'wharf.engine',
  engineError: 'wharf.engineError',
  repository: 'wharf.imageRepository',
  image: 'wharf.image',
  danglingImage: 'wharf.danglingImage',
  project: 'wharf.composeProject',
  running: 'wharf.runningContainer',
  exited: 'wharf.exitedContainer',
  paused: 'wharf.pausedContainer',
} as const;

export function containerContext(container: ContainerSummary): string {
  switch (container.state) {
    case 'running':
    case 'restarting':
      return CONTEXT.running;
    case 'paused':
      return CONTEXT.paused;
    default:
      return CONTEXT.exited;
  }
}

/** The id path part for a piece of text: ids must stay unique and slash-safe. */
export const part = (text: string) => encodeURIComponent(text);
