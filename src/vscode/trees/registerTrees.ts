/**
 * Creates the four views. Until a view has a provider of its own it stays empty, which lets its
 * viewsWelcome content explain what to do.
 */
import * as vscode from 'vscode';
import type { Services } from '../services';

export const VIEW_IDS = ['wharf.registries', 'wharf.images', 'wharf.containers', 'wharf.etcd'] as const;
export type ViewId = (typeof VIEW_IDS)[number];

class EmptyTree implements vscode.TreeDataProvider<never> {
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }
  getChildren(): never[] {
    return [];
  }
}

/** Returns the views, so their owners can follow visibility (refresh only what is shown) and reveal nodes. */
export function registerTrees(services: Services, providers: Partial<Record<ViewId, vscode.TreeDataProvider<unknown>>> = {}): Record<ViewId, vscode.TreeView<unknown>> {
  const views = {} as Record<ViewId, vscode.TreeView<unknown>>;
  for (const id of VIEW_IDS) {
    const treeDataProvider = providers[id] ?? new EmptyTree();
    views[id] = services.track(vscode.window.createTreeView(id, { treeDataProvider, showCollapseAll: id !== 'wharf.images' }));
  }
  return views;
}
