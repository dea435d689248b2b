/**
 * The Images view: engine → repository → tag. Each engine is listed with one request when the
 * root is asked for (so an unreachable engine can say so on its own node); children come from
 * that listing, never from another request.
 */
import * as vscode from 'vscode';
import { NONE, formatAge, formatSize, groupImages, shortId, type ImageTag } from '../../engines/docker/images';
import { RootLister, engineNode, engineTreeItem, errorChildren, messageTreeItem } from './engineNodes';
import type { Engines } from './engines';
import { CONTEXT, part, type EngineNode, type ImageNode, type ImagesTreeNode, type RepositoryNode } from './nodes';

export class ImagesTree implements vscode.TreeDataProvider<ImagesTreeNode> {
  private readonly changed = new vscode.EventEmitter<ImagesTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private children = new Map<string, ImagesTreeNode[]>();
  showDangling = false;

  private readonly root: RootLister<ImageTag>;

  constructor(private readonly engines: Engines) {
    this.root = new RootLister((handle) => engines.images(handle), () => this.refresh());
  }

  /** Forgets the listings; the view asks again. */
  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: ImagesTreeNode): Promise<ImagesTreeNode[]> {
    if (!node) return this.loadRoot();
    if (node.type === 'engine') return this.children.get(node.id) ?? errorChildren(node);
    if (node.type === 'repository') return node.tags.map((image): ImageNode => ({ type: 'image', id: `${node.id}/${part(image.dangling ? image.id : image.tag)}`, parent: node, engineId: node.parent.engineId, image }));
    return [];
  }

  private async loadRoot(): Promise<EngineNode[]> {
    const children = new Map<string, ImagesTreeNode[]>();
    const nodes = await Promise.all(
      this.engines.list.map(async (handle) => {
        const listing = await this.root.get(handle);
        const node = engineNode('images', handle, listing);
        if (listing?.ok) {
          children.set(
            node.id,
            groupImages(listing.items, { showDangling: this.showDangling }).map((group): RepositoryNode => ({ type: 'repository', id: `${node.id}/${part(group.repository)}`, parent: node, repository: group.repository, tags: group.tags })),
          );
        }
        return node;
      }),
    );
    this.children = children;
    return nodes;
  }

  getParent(node: ImagesTreeNode): ImagesTreeNode | undefined {
    return node.type === 'engine' ? undefined : node.parent;
  }

  getTreeItem(node: ImagesTreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'engine':
        return engineTreeItem(node, node.error ? undefined : this.children.get(node.id)?.length);
      case 'message':
        return messageTreeItem(node);
      case 'repository': {
        const item = new vscode.TreeItem(node.repository, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = node.id;
        item.contextValue = CONTEXT.repository;
        item.iconPath = new vscode.ThemeIcon('repo');
        item.description = `${node.tags.length} ${node.tags.length === 1 ? 'tag' : 'tags'}`;
        return item;
      }
      case 'image': {
        const image = node.image;
        const label = image.dangling ? (image.repository === NONE ? shortId(image.id) : `${NONE} (${shortId(image.id)})`) : image.tag;
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.contextValue = image.dangling ? CONTEXT.danglingImage : CONTEXT.image;
        item.iconPath = new vscode.ThemeIcon(image.dangling ? 'circle-slash' : 'tag');
        item.description = `${formatSize(image.size)} · ${formatAge(image.created)}`;
        const tooltip = new vscode.MarkdownString();
        tooltip.appendMarkdown(`**${image.dangling ? shortId(image.id) : image.reference}**\n\n`);
        tooltip.appendText(`ID: ${image.id}\n`);
        if (image.digest) tooltip.appendText(`Digest: ${image.digest}\n`);
        tooltip.appendText(`Size: ${formatSize(image.size)}\nCreated: ${new Date(image.created * 1000).toLocaleString()}`);
        item.tooltip = tooltip;
        return item;
      }
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
