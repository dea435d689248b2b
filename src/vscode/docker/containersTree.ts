/**
 * The Containers view: engine → compose project → container (containers of no project sit right
 * under the engine). State shows as the icon and context value; the status text ("Up 3 minutes")
 * is only a description, never part of an id.
 */
import * as vscode from 'vscode';
import { groupContainers, type ContainerSummary } from '../../engines/docker/containers';
import { RootLister, engineNode, engineTreeItem, errorChildren, messageTreeItem } from './engineNodes';
import type { Engines } from './engines';
import { CONTEXT, containerContext, part, type ContainerNode, type ContainersTreeNode, type EngineNode, type ProjectNode } from './nodes';

const STATE_ICONS: Record<string, [string, string | undefined]> = {
  running: ['debug-start', 'testing.iconPassed'],
  restarting: ['sync', 'problemsWarningIcon.foreground'],
  paused: ['debug-pause', 'problemsWarningIcon.foreground'],
  created: ['circle-outline', undefined],
  exited: ['debug-stop', undefined],
  dead: ['error', 'errorForeground'],
  removing: ['trash', undefined],
};

export class ContainersTree implements vscode.TreeDataProvider<ContainersTreeNode> {
  private readonly changed = new vscode.EventEmitter<ContainersTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private children = new Map<string, ContainersTreeNode[]>();

  private readonly root: RootLister<ContainerSummary>;

  constructor(private readonly engines: Engines) {
    this.root = new RootLister((handle) => engines.containers(handle), () => this.refresh());
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: ContainersTreeNode): Promise<ContainersTreeNode[]> {
    if (!node) return this.loadRoot();
    if (node.type === 'engine') return this.children.get(node.id) ?? errorChildren(node);
    if (node.type === 'project') return node.containers.map((container) => containerNode(node, node.parent.engineId, container));
    return [];
  }

  private async loadRoot(): Promise<EngineNode[]> {
    const children = new Map<string, ContainersTreeNode[]>();
    const nodes = await Promise.all(
      this.engines.list.map(async (handle) => {
        const listing = await this.root.get(handle);
        const node = engineNode('containers', handle, listing);
        if (listing?.ok) {
          children.set(
            node.id,
            groupContainers(listing.items).flatMap((group): ContainersTreeNode[] =>
              group.project === undefined
                ? group.containers.map((container) => containerNode(node, handle.id, container))
                : [{ type: 'project', id: `${node.id}/project/${part(group.project)}`, parent: node, project: group.project, containers: group.containers }],
            ),
          );
        }
        return node;
      }),
    );
    this.children = children;
    return nodes;
  }

  getParent(node: ContainersTreeNode): ContainersTreeNode | undefined {
    return node.type === 'engine' ? undefined : node.parent;
  }

  getTreeItem(node: ContainersTreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'engine':
        return engineTreeItem(node, node.error ? undefined : countContainers(this.children.get(node.id)));
      case 'message':
        return messageTreeItem(node);
      case 'project': {
        const item = new vscode.TreeItem(node.project, vscode.TreeItemCollapsibleState.Expanded);
        item.id = node.id;
        item.contextValue = CONTEXT.project;
        item.iconPath = new vscode.ThemeIcon('layers');
        const running = node.containers.filter((container) => container.state === 'running').length;
        item.description = `${running}/${node.containers.length} running`;
        return item;
      }
      case 'container': {
        const container = node.container;
        const item = new vscode.TreeItem(container.name, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.contextValue = containerContext(container);
        const [icon, color] = STATE_ICONS[container.state] ?? ['question', undefined];
        item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
        item.description = [container.image, container.ports.join(', ')].filter(Boolean).join(' · ');
        const tooltip = new vscode.MarkdownString();
        tooltip.appendMarkdown(`**${container.name}** (${container.state})\n\n`);
        tooltip.appendText(`${container.status}\nImage: ${container.image}\nID: ${container.id.slice(0, 12)}`);
        if (container.ports.length) tooltip.appendText(`\nPorts: ${container.ports.join(', ')}`);
        if (container.project) tooltip.appendText(`\nCompose: ${container.project}${container.service ? ` / ${container.service}` : ''}`);
        item.tooltip = tooltip;
        return item;
      }
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function containerNode(parent: EngineNode | ProjectNode, engineId: string, container: ContainerSummary): ContainerNode {
  return { type: 'container', id: `${parent.id}/${part(container.id)}`, parent, engineId, container };
}

function countContainers(nodes: ContainersTreeNode[] | undefined): number | undefined {
  if (!nodes) return undefined;
  return nodes.reduce((sum, node) => sum + (node.type === 'project' ? node.containers.length : 1), 0);
}
