/**
 * The etcd Keys view. Nodes are plain data; TreeItems are made in getTreeItem. Each level is
 * listed lazily, a page at a time (keys only), with a "Load more…" node when more follow. One
 * PrefixWatch per cluster keeps the shown levels current: a change refreshes only the levels it
 * touches, debounced by a few milliseconds, and a compaction cancel re-lists the whole cluster.
 */
import * as vscode from 'vscode';
import { messageOf } from '../../engines/core/errors';
import type { EtcdCluster } from '../../engines/etcd/cluster';
import { listLevel, type LevelEntry } from '../../engines/etcd/keyspace';
import { PrefixWatch, type WatchEvent } from '../../engines/etcd/watch';
import type { Services } from '../services';
import type { ClusterRegistry } from './clusters';
import { keyUri } from './uri';

export type EtcdNode =
  | { type: 'cluster'; id: string; cluster: string }
  | { type: 'folder'; id: string; cluster: string; path: string; name: string }
  | { type: 'key'; id: string; cluster: string; path: string; name: string }
  | { type: 'more'; id: string; cluster: string; parentId: string }
  | { type: 'message'; id: string; text: string; tooltip?: string; kind: 'error' | 'warning' | 'info' };

interface LevelState {
  entries: LevelEntry[];
  cursor?: string;
  stale: boolean;
  /** How many entries the user has asked to see (grows with "Load more…"). */
  wanted: number;
  valid: boolean;
  /** The etcd revision the listing reflects. */
  revision: string;
}

const viewSettings = () => vscode.workspace.getConfiguration('wharf');

export class EtcdTree implements vscode.TreeDataProvider<EtcdNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<EtcdNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, EtcdNode>();
  private readonly parents = new Map<string, string>();
  private readonly levels = new Map<string, LevelState>();
  private readonly watches = new Map<string, PrefixWatch>();
  private readonly pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Listeners told about every change a watch reports (open documents use it). */
  private readonly eventListeners = new Set<(cluster: string, events: WatchEvent[]) => void>();

  constructor(
    private readonly services: Services,
    private readonly registry: ClusterRegistry,
  ) {
    this.subscriptions.push(registry.onDidChange(() => this.refresh()));
    void vscode.commands.executeCommand('setContext', 'wharf.etcdFlat', this.flat);
  }

  get flat(): boolean {
    return this.services.context.workspaceState.get<boolean>('wharf.etcd.flat', false);
  }

  async setFlat(flat: boolean): Promise<void> {
    await this.services.context.workspaceState.update('wharf.etcd.flat', flat);
    await vscode.commands.executeCommand('setContext', 'wharf.etcdFlat', flat);
    this.refresh();
  }

  filterOf(cluster: string): string {
    return this.services.context.workspaceState.get<Record<string, string>>('wharf.etcd.filters', {})[cluster] ?? '';
  }

  async setFilter(cluster: string, prefix: string): Promise<void> {
    const filters = { ...this.services.context.workspaceState.get<Record<string, string>>('wharf.etcd.filters', {}) };
    if (prefix) filters[cluster] = prefix;
    else delete filters[cluster];
    await this.services.context.workspaceState.update('wharf.etcd.filters', filters);
    this.stopWatch(cluster);
    this.refresh(this.nodes.get(clusterId(cluster)));
  }

  onEvents(listener: (cluster: string, events: WatchEvent[]) => void): vscode.Disposable {
    this.eventListeners.add(listener);
    return new vscode.Disposable(() => this.eventListeners.delete(listener));
  }

  private node<T extends EtcdNode>(node: T, parentId?: string): T {
    const existing = this.nodes.get(node.id) as T | undefined;
    const result = existing && existing.type === node.type ? Object.assign(existing, node) : node;
    this.nodes.set(node.id, result);
    if (parentId) this.parents.set(node.id, parentId);
    return result;
  }

  getParent(element: EtcdNode): EtcdNode | undefined {
    const parentId = this.parents.get(element.id);
    return parentId ? this.nodes.get(parentId) : undefined;
  }

  getTreeItem(element: EtcdNode): vscode.TreeItem {
    switch (element.type) {
      case 'cluster': {
        const item = new vscode.TreeItem(element.cluster, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = element.id;
        item.contextValue = 'wharf.etcdCluster';
        item.iconPath = new vscode.ThemeIcon('database');
        const filter = this.filterOf(element.cluster);
        const state = this.levels.get(element.id);
        item.description = [filter && `filter: ${filter}`, this.flat && 'flat', state?.stale && 'possibly stale (quorum lost)'].filter(Boolean).join(' · ');
        try {
          item.tooltip = `${element.cluster}\n${this.registry.config(element.cluster).endpoints.join('\n')}`;
        } catch {
          item.tooltip = element.cluster;
        }
        return item;
      }
      case 'folder': {
        const item = new vscode.TreeItem(element.name || element.path || '/', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = element.id;
        item.contextValue = 'wharf.etcdFolder';
        item.iconPath = vscode.ThemeIcon.Folder;
        item.tooltip = element.path;
        return item;
      }
      case 'key': {
        const item = new vscode.TreeItem(element.name || '(empty)', vscode.TreeItemCollapsibleState.None);
        item.id = element.id;
        item.contextValue = 'wharf.etcdKey';
        item.resourceUri = keyUri(element.cluster, element.path);
        item.iconPath = vscode.ThemeIcon.File;
        item.tooltip = element.path;
        item.command = { command: 'vscode.open', title: 'Open Key', arguments: [item.resourceUri] };
        return item;
      }
      case 'more': {
        const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
        item.id = element.id;
        item.contextValue = 'wharf.etcdMore';
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: 'wharf.etcdLoadMore', title: 'Load More', arguments: [element] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(element.text, vscode.TreeItemCollapsibleState.None);
        item.id = element.id;
        item.tooltip = element.tooltip ?? element.text;
        item.iconPath = new vscode.ThemeIcon(element.kind === 'error' ? 'error' : element.kind === 'warning' ? 'warning' : 'info');
        return item;
      }
    }
  }

  async getChildren(element?: EtcdNode): Promise<EtcdNode[]> {
    if (!element) {
      return this.registry.configs().map((config) => this.node({ type: 'cluster', id: clusterId(config.name), cluster: config.name }));
    }
    if (element.type !== 'cluster' && element.type !== 'folder') return [];
    const name = element.cluster;
    let cluster: EtcdCluster;
    try {
      cluster = await this.registry.cluster(name);
    } catch (error) {
      return [this.message(element.id, 'error', `Cannot connect: ${messageOf(error)}`)];
    }
    const prefix = element.type === 'cluster' ? this.filterOf(name) : element.path;
    this.ensureWatch(name, cluster);
    const pageSize = Math.max(10, viewSettings().get<number>('etcd.pageSize', 200));
    const state = this.levels.get(element.id) ?? { entries: [], stale: false, wanted: pageSize, valid: false, revision: '0' };
    try {
      // "Load more…" continues from the cursor; anything else lists the level again from the start.
      const extending = state.valid && state.cursor !== undefined && state.entries.length < state.wanted;
      if (!state.valid || extending) {
        const entries: LevelEntry[] = extending ? [...state.entries] : [];
        let cursor: string | undefined = extending ? state.cursor : undefined;
        let stale = extending && state.stale;
        let revision = extending ? state.revision : '0';
        do {
          const page = await listLevel(cluster, { prefix, separator: viewSettings().get<string>('etcd.separator', '/') || '/', limit: Math.min(state.wanted - entries.length, 1000), cursor, flat: this.flat });
          entries.push(...page.entries);
          cursor = page.cursor;
          stale ||= page.stale;
          // A level keeps the revision of its first page: the watch replays anything newer.
          if (revision === '0') revision = page.revision;
        } while (cursor && entries.length < state.wanted);
        Object.assign(state, { entries, cursor, stale, valid: true, revision });
        this.levels.set(element.id, state);
      }
    } catch (error) {
      return [this.message(element.id, 'error', `Cannot list ${prefix || 'keys'}: ${messageOf(error)}`)];
    }
    const children: EtcdNode[] = [];
    if (state.stale) children.push(this.message(element.id, 'warning', 'Quorum lost: possibly stale (serializable read); writes will fail'));
    for (const entry of state.entries) {
      const id = `${element.type === 'cluster' ? element.id : clusterId(name)}\u0000${entry.kind}\u0000${entry.path}`;
      children.push(this.node({ type: entry.kind, id, cluster: name, path: entry.path, name: entry.name }, element.id));
    }
    if (state.cursor) children.push(this.node({ type: 'more', id: `${element.id}\u0000more`, cluster: name, parentId: element.id }, element.id));
    if (!children.length && element.type === 'cluster') children.push(this.message(element.id, 'info', prefix ? `No keys under ${prefix}` : 'No keys yet'));
    return children;
  }

  private message(parentId: string, kind: 'error' | 'warning' | 'info', text: string): EtcdNode {
    return this.node({ type: 'message', id: `${parentId}\u0000message`, text, kind }, parentId);
  }

  loadMore(node: EtcdNode & { type: 'more' }): void {
    const state = this.levels.get(node.parentId);
    if (!state) return;
    state.wanted += Math.max(10, viewSettings().get<number>('etcd.pageSize', 200));
    this.changed.fire(this.nodes.get(node.parentId));
  }

  /** Refreshes one node (re-listing its level), or everything. */
  refresh(node?: EtcdNode): void {
    if (!node) {
      this.levels.clear();
      this.changed.fire(undefined);
      return;
    }
    for (const [id, state] of this.levels) if (id === node.id || id.startsWith(`${node.id}\u0000`)) state.valid = false;
    this.changed.fire(node);
  }

  private ensureWatch(name: string, cluster: EtcdCluster): void {
    if (this.watches.has(name)) return;
    const prefix = this.filterOf(name);
    // From now: the levels are listed after the watch exists, so nothing falls in between.
    const watch = new PrefixWatch(cluster, {
      prefix,
      log: this.services.log,
      onEvents: (events) => this.onWatchEvents(name, events),
      // Levels listed before the watch existed may have missed a change: list those again.
      onStarted: (revision) => {
        const root = clusterId(name);
        for (const [id, state] of this.levels) {
          if ((id === root || id.startsWith(`${root}\u0000`)) && state.valid && BigInt(state.revision) < BigInt(revision)) this.pending.add(id);
        }
        if (this.pending.size && !this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 15);
      },
      onResync: async () => {
        const head = await cluster.read(`etcd cluster ${name}`, ({ client, serializable, options }) => client.kv.range({ key: Buffer.from(prefix || '\0'), count_only: true, serializable }, options));
        this.refresh(this.nodes.get(clusterId(name)));
        return head.value.header.revision;
      },
    });
    this.watches.set(name, watch);
  }

  private stopWatch(name: string): void {
    this.watches.get(name)?.close();
    this.watches.delete(name);
  }

  private onWatchEvents(name: string, events: WatchEvent[]): void {
    for (const listener of this.eventListeners) listener(name, events);
    const root = clusterId(name);
    const prefix = this.filterOf(name);
    const separator = viewSettings().get<string>('etcd.separator', '/') || '/';
    for (const event of events) {
      // Walk the loaded levels from the root toward the key: a level changes when the entry the key
      // falls under is missing (a new key or folder) or when a key is deleted (an entry may go).
      let levelId = root;
      let levelPrefix = prefix;
      for (;;) {
        const state = this.levels.get(levelId);
        if (!state?.valid) break;
        const rest = event.key.slice(levelPrefix.length);
        const at = this.flat ? -1 : rest.indexOf(separator);
        const path = at < 0 ? event.key : levelPrefix + rest.slice(0, at + separator.length);
        const present = state.entries.some((entry) => entry.path === path);
        if (!present || (event.type === 'delete' && at < 0)) {
          this.pending.add(levelId);
          break;
        }
        if (at < 0) break; // a value changed: the tree looks the same
        if (event.type === 'delete') this.pending.add(levelId); // the folder may now be empty
        levelId = `${root}\u0000folder\u0000${path}`;
        levelPrefix = path;
      }
    }
    if (this.pending.size && !this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), 15);
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    for (const id of this.pending) {
      const state = this.levels.get(id);
      if (state) state.valid = false;
      const node = this.nodes.get(id);
      if (node) this.changed.fire(node);
    }
    this.pending.clear();
  }

  dispose(): void {
    for (const name of [...this.watches.keys()]) this.stopWatch(name);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}

export function clusterId(name: string): string {
  return `etcd\u0000${name}`;
}
