/**
 * The Registries view: registry → repositories (catalog, paged) → tags (paged, filterable) →
 * manifest details (digest, media type, platforms of an index, layer sizes). Nodes are plain data
 * with stable ids (never anything that changes, like sizes), turned into TreeItems only in
 * getTreeItem. A failure becomes a node that says what failed and what to do.
 */
import * as vscode from 'vscode';
import { isWharfError, messageOf } from '../../engines/core/errors';
import { formatBytes } from '../../engines/promote/copy';
import { readPromotions } from '../../engines/promote/record';
import { RegistryClient } from '../../engines/registry/client';
import { isIndexType, parseJson, platformString, type ImageManifestJson, type IndexJson } from '../../engines/registry/manifest';
import type { Services } from '../services';
import { settings, type RegistrySetting } from '../settings';
import { editorCredentials, registryName } from './credentials';

export const CONTEXT = {
  registry: 'wharf.registry',
  repository: 'wharf.registryRepository',
  tag: 'wharf.registryTag',
  manifest: 'wharf.registryManifest',
  detail: 'wharf.registryDetail',
  loadMore: 'wharf.registryLoadMore',
  error: 'wharf.registryError',
} as const;

const PAGE = 100;
const MAX_PROMOTION_DETAILS = 5;

export interface RegistryNode {
  type: 'registry';
  id: string;
  registry: string;
  label: string;
  setting: RegistrySetting;
}
export interface RepositoryNode {
  type: 'repository';
  id: string;
  registry: string;
  repository: string;
  parent: RegistryNode;
}
export interface TagNode {
  type: 'tag';
  id: string;
  registry: string;
  repository: string;
  tag: string;
  /** The full reference, what commands (promote, pull, copy) act on. */
  ref: string;
  parent: RepositoryNode;
}
export interface PlatformNode {
  type: 'platform';
  id: string;
  registry: string;
  repository: string;
  digest: string;
  label: string;
  parent: TagNode;
}
export interface DetailNode {
  type: 'detail';
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  copy?: string;
  parent: RegistryTreeNode;
}
export interface LoadMoreNode {
  type: 'loadMore';
  id: string;
  parent: RegistryNode | RepositoryNode;
}
export interface ErrorNode {
  type: 'error';
  id: string;
  message: string;
  /** What to offer: sign in for 401, retry otherwise. */
  action: 'signIn' | 'retry';
  registry: string;
  parent?: RegistryTreeNode;
}

export type RegistryTreeNode = RegistryNode | RepositoryNode | TagNode | PlatformNode | DetailNode | LoadMoreNode | ErrorNode;

/** A paged list being read: the pages so far, the iterator for the next, how many are shown. */
interface Listing {
  items: string[];
  iterator: AsyncIterator<string[]>;
  done: boolean;
  shown: number;
  filter?: string;
}

export class RegistriesTree implements vscode.TreeDataProvider<RegistryTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RegistryTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly clients = new Map<string, RegistryClient>();
  private readonly listings = new Map<string, Listing>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly services: Services) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('wharf.registries')) this.refresh();
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }

  /** A client per registry, sharing its tokens across the tree and the commands. */
  client(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (!client) {
      client = new RegistryClient({ registry, credentials: editorCredentials(this.services.secrets), log: this.services.log });
      this.clients.set(registry, client);
    }
    return client;
  }

  get clientCache(): Map<string, RegistryClient> {
    return this.clients;
  }

  /** Forget clients (after a sign-in) and listings under a node, then redraw it. */
  refresh(node?: RegistryTreeNode): void {
    if (!node) {
      this.listings.clear();
      this.clients.clear();
    } else {
      for (const key of [...this.listings.keys()]) if (key.startsWith(node.id)) this.listings.delete(key);
      if (node.type === 'registry') this.clients.delete(node.registry);
    }
    this.changed.fire(node);
  }

  /** Refreshes the node of one registry by name (after a promotion into it). */
  refreshRegistry(registry: string): void {
    const node = this.roots().find((candidate) => candidate.registry === registry);
    this.refresh(node);
  }

  roots(): RegistryNode[] {
    return settings.registries().map((setting) => {
      const registry = registryName(setting);
      return { type: 'registry', id: `registry:${registry}`, registry, label: setting.name || registry, setting };
    });
  }

  getParent(node: RegistryTreeNode): RegistryTreeNode | undefined {
    return 'parent' in node ? node.parent : undefined;
  }

  getTreeItem(node: RegistryTreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'registry': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = node.id;
        item.description = node.label === node.registry ? undefined : node.registry;
        item.tooltip = `${node.registry} (${node.setting.auth ?? (node.setting.username ? 'basic' : 'docker config')} auth)`;
        item.iconPath = new vscode.ThemeIcon('server');
        item.contextValue = CONTEXT.registry;
        return item;
      }
      case 'repository': {
        const item = new vscode.TreeItem(node.repository, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = node.id;
        const filter = this.listings.get(`${node.id}/tags`)?.filter;
        item.description = filter ? `filter: ${filter}` : undefined;
        item.iconPath = new vscode.ThemeIcon('repo');
        item.contextValue = CONTEXT.repository;
        return item;
      }
      case 'tag': {
        const item = new vscode.TreeItem(node.tag, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = node.id;
        item.tooltip = node.ref;
        item.iconPath = new vscode.ThemeIcon('tag');
        item.contextValue = CONTEXT.tag;
        return item;
      }
      case 'platform': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = node.id;
        item.description = node.digest.slice(0, 19);
        item.tooltip = node.digest;
        item.iconPath = new vscode.ThemeIcon('vm');
        item.contextValue = CONTEXT.manifest;
        return item;
      }
      case 'detail': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.description = node.description;
        item.tooltip = node.tooltip ?? node.description;
        item.contextValue = CONTEXT.detail;
        return item;
      }
      case 'loadMore': {
        const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: 'wharf.registryLoadMore', title: 'Load more', arguments: [node] };
        item.contextValue = CONTEXT.loadMore;
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.tooltip = node.message;
        item.iconPath = new vscode.ThemeIcon('error');
        item.description = node.action === 'signIn' ? 'click to sign in' : 'click to retry';
        item.command =
          node.action === 'signIn'
            ? { command: 'wharf.registrySignIn', title: 'Sign in', arguments: [node] }
            : { command: 'wharf.registryRefresh', title: 'Retry', arguments: [node.parent] };
        item.contextValue = CONTEXT.error;
        return item;
      }
    }
  }

  async getChildren(node?: RegistryTreeNode): Promise<RegistryTreeNode[]> {
    if (!node) return this.roots();
    try {
      switch (node.type) {
        case 'registry':
          return await this.page(node, `${node.id}/catalog`, () => this.client(node.registry).catalog({ pageSize: PAGE }), (repository) => ({
            type: 'repository',
            id: `${node.id}/repo:${repository}`,
            registry: node.registry,
            repository,
            parent: node,
          }));
        case 'repository':
          return await this.page(node, `${node.id}/tags`, () => this.client(node.registry).tags(node.repository, { pageSize: PAGE }), (tag) => ({
            type: 'tag',
            id: `${node.id}/tag:${tag}`,
            registry: node.registry,
            repository: node.repository,
            tag,
            ref: `${node.registry}/${node.repository}:${tag}`,
            parent: node,
          }));
        case 'tag':
          return await this.manifestDetails(node, node.registry, node.repository, node.tag);
        case 'platform':
          return await this.manifestDetails(node, node.registry, node.repository, node.digest);
        default:
          return [];
      }
    } catch (error) {
      return [this.errorNode(node, error)];
    }
  }

  private errorNode(parent: RegistryTreeNode, error: unknown): ErrorNode {
    const registry = 'registry' in parent ? parent.registry : '';
    const unauthorized = isWharfError(error, 'unauthorized') || isWharfError(error, 'forbidden');
    this.services.log.warn(`registries: ${messageOf(error)}`);
    return { type: 'error', id: `${parent.id}/error`, message: messageOf(error), action: unauthorized ? 'signIn' : 'retry', registry, parent };
  }

  /** Shows `shown` items of a listing, reading more pages only when they are needed. */
  private async page<T extends RegistryTreeNode>(parent: RegistryNode | RepositoryNode, key: string, open: () => AsyncIterable<string[]>, make: (name: string) => T): Promise<RegistryTreeNode[]> {
    let listing = this.listings.get(key);
    if (!listing) {
      listing = { items: [], iterator: open()[Symbol.asyncIterator](), done: false, shown: PAGE };
      this.listings.set(key, listing);
    }
    const matches = () => (listing.filter ? listing.items.filter((name) => name.includes(listing.filter as string)) : listing.items);
    while (!listing.done && matches().length < listing.shown) {
      try {
        const next = await listing.iterator.next();
        if (next.done) listing.done = true;
        else listing.items.push(...next.value);
      } catch (error) {
        // Drop the listing so a retry starts over.
        this.listings.delete(key);
        throw error;
      }
    }
    const all = matches();
    // Tags come unsorted from Distribution 2.8; sort for a stable view.
    const visible = [...all].sort().slice(0, listing.shown);
    const nodes: RegistryTreeNode[] = visible.map(make);
    if (all.length > listing.shown || !listing.done) nodes.push({ type: 'loadMore', id: `${key}/more`, parent });
    if (!nodes.length) {
      const what = parent.type === 'registry' ? 'No repositories' : listing.filter ? `No tags match "${listing.filter}"` : 'No tags';
      nodes.push({ type: 'detail', id: `${key}/empty`, label: what, parent });
    }
    return nodes;
  }

  /** "Load more…": show another page of the listing under `node`. */
  loadMore(node: LoadMoreNode): void {
    const key = node.parent.type === 'registry' ? `${node.parent.id}/catalog` : `${node.parent.id}/tags`;
    const listing = this.listings.get(key);
    if (listing) listing.shown += PAGE;
    this.changed.fire(node.parent);
  }

  /** Sets (or clears with "") the tag filter of a repository. */
  setFilter(node: RepositoryNode, filter: string): void {
    // A new filter searches what the registry has now, not a listing read minutes ago.
    const key = `${node.id}/tags`;
    this.listings.set(key, { items: [], iterator: this.client(node.registry).tags(node.repository, { pageSize: PAGE })[Symbol.asyncIterator](), done: false, shown: PAGE, filter: filter || undefined });
    this.changed.fire(node);
  }

  filterOf(node: RepositoryNode): string | undefined {
    return this.listings.get(`${node.id}/tags`)?.filter;
  }

  private async manifestDetails(parent: TagNode | PlatformNode, registry: string, repository: string, ref: string): Promise<RegistryTreeNode[]> {
    const manifest = await this.client(registry).getManifest(repository, ref);
    const tag = parent.type === 'tag' ? parent : parent.parent;
    const details: RegistryTreeNode[] = [
      { type: 'detail', id: `${parent.id}/digest`, label: 'digest', description: manifest.digest, copy: manifest.digest, parent },
      { type: 'detail', id: `${parent.id}/mediaType`, label: 'media type', description: manifest.mediaType, parent },
    ];
    if (parent.type === 'tag') details.push(...(await this.promotionDetails(parent)));
    if (isIndexType(manifest.mediaType)) {
      const index = parseJson<IndexJson>(manifest.bytes, ref);
      for (const child of index.manifests ?? []) {
        details.push({ type: 'platform', id: `${parent.id}/platform:${child.digest}`, registry, repository, digest: child.digest, label: platformString(child.platform), parent: tag });
      }
      return details;
    }
    const image = parseJson<ImageManifestJson>(manifest.bytes, ref);
    const total = image.layers.reduce((sum, layer) => sum + layer.size, 0);
    details.push({ type: 'detail', id: `${parent.id}/size`, label: 'size', description: `${formatBytes(total)} in ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'}`, parent });
    details.push({ type: 'detail', id: `${parent.id}/config`, label: 'config', description: image.config.digest, copy: image.config.digest, parent });
    image.layers.forEach((layer, index) => {
      details.push({ type: 'detail', id: `${parent.id}/layer:${index}`, label: `layer ${index + 1}`, description: `${formatBytes(layer.size)}  ${layer.digest.slice(0, 19)}`, tooltip: `${layer.digest}\n${layer.mediaType}\n${layer.size} bytes`, copy: layer.digest, parent });
    });
    return details;
  }

  /** Where this tag came from and went to, from the workspace's promotion records (newest first). */
  private async promotionDetails(tag: TagNode): Promise<DetailNode[]> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) return [];
    const records = (await readPromotions(folder)).filter((record) => record.target === tag.ref || record.source === tag.ref).slice(0, MAX_PROMOTION_DETAILS);
    return records.map((record, index) => {
      const into = record.target === tag.ref;
      const when = record.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
      return {
        type: 'detail',
        id: `${tag.id}/promotion:${index}:${record.time}`,
        label: into ? 'promoted from' : 'promoted to',
        description: `${into ? record.source : record.target}  ${when} by ${record.who}${record.stage ? ` (stage ${record.stage})` : ''}`,
        tooltip: [`${record.source} → ${record.target}`, `via ${record.via}${record.gate ? `, gate: ${record.gate}` : ''}`, `source digest ${record.sourceDigest ?? '?'}`, `target digest ${record.targetDigest ?? '?'}`, `${record.time} by ${record.who}`].join('\n'),
        copy: into ? record.source : record.target,
        parent: tag,
      };
    });
  }
}
