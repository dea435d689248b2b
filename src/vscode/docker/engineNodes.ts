/** Engine nodes and the error nodes under an engine that cannot be listed: what failed, and what to do. */
import * as vscode from 'vscode';
import type { EngineHandle } from '../../engines/docker/engineSet';
import type { Listing } from './engines';
import { CONTEXT, part, type EngineNode, type ExplorerView, type MessageNode } from './nodes';

/** `listing` is undefined while the engine is still connecting. */
export function engineNode<T>(view: ExplorerView, handle: EngineHandle, listing: Listing<T> | undefined): EngineNode {
  return {
    type: 'engine',
    view,
    id: `${view}/${part(handle.id)}`,
    engineId: handle.id,
    name: handle.config.name,
    address: listing?.address,
    error: !listing || listing.ok ? undefined : { message: listing.error.message, code: listing.error.code },
    pending: !listing,
  };
}

/** How long a tree's root waits for one engine before showing it as connecting. */
export const ROOT_WAIT_MS = 5000;

/**
 * Lists each engine for a tree's root without letting a slow one (an SSH connect, a host-key prompt
 * waiting for the user) hold the others back. A late engine shows as "connecting…"; when its answer
 * arrives the tree refreshes and that answer is used, rather than asking the engine again.
 */
export class RootLister<T> {
  private readonly late = new Map<string, Promise<Listing<T>>>();

  constructor(
    private readonly list: (handle: EngineHandle) => Promise<Listing<T>>,
    private readonly onLate: () => void,
  ) {}

  async get(handle: EngineHandle): Promise<Listing<T> | undefined> {
    const request = this.late.get(handle.id) ?? this.list(handle);
    this.late.delete(handle.id);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ROOT_WAIT_MS);
    });
    const listing = await Promise.race([request, waited]);
    clearTimeout(timer);
    if (listing === undefined) {
      this.late.set(handle.id, request);
      void request.then(this.onLate, this.onLate);
    }
    return listing;
  }
}

/** The cause, then one node per way out: retry, choose another engine, open the settings. */
export function errorChildren(node: EngineNode): MessageNode[] {
  if (!node.error) return [];
  const message = (label: string, icon: string, command?: MessageNode['command'], detail?: string): MessageNode => ({
    type: 'message',
    id: `${node.id}/${part(label)}`,
    parent: node,
    label,
    icon,
    command,
    detail,
  });
  return [
    message(node.error.message, 'error', undefined, node.error.code),
    message('Retry', 'refresh', { command: 'wharf.retryEngine', title: 'Retry', arguments: [node] }),
    message('Choose Engine…', 'server-environment', { command: 'wharf.chooseEngine', title: 'Choose Engine…', arguments: [node] }),
    message('Open Settings', 'settings-gear', { command: 'wharf.openSettings', title: 'Open Settings' }),
  ];
}

export function engineTreeItem(node: EngineNode, count?: number): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
  item.id = node.id;
  if (node.pending) {
    item.description = 'connecting…';
    item.iconPath = new vscode.ThemeIcon('loading~spin');
    item.collapsibleState = vscode.TreeItemCollapsibleState.None;
    item.contextValue = CONTEXT.engine;
    return item;
  }
  item.contextValue = node.error ? CONTEXT.engineError : CONTEXT.engine;
  item.description = node.error ? 'unreachable' : [node.address, count === undefined ? undefined : `${count}`].filter(Boolean).join(' · ');
  item.tooltip = node.error ? new vscode.MarkdownString().appendText(node.error.message) : node.address;
  item.iconPath = new vscode.ThemeIcon(node.error ? 'warning' : 'server', node.error ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined);
  return item;
}

export function messageTreeItem(node: MessageNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.tooltip = node.label;
  item.iconPath = new vscode.ThemeIcon(node.icon, node.icon === 'error' ? new vscode.ThemeColor('errorForeground') : undefined);
  item.command = node.command;
  item.contextValue = 'wharf.message';
  return item;
}
