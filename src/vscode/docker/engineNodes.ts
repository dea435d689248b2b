/** Engine nodes and the error nodes under an engine that cannot be listed: what failed, and what to do. */
import * as vscode from 'vscode';
import type { EngineHandle } from '../../engines/docker/engineSet';
import type { Listing } from './engines';
import { CONTEXT, part, type EngineNode, type ExplorerView, type MessageNode } from './nodes';

export function engineNode<T>(view: ExplorerView, handle: EngineHandle, listing: Listing<T>): EngineNode {
  return {
    type: 'engine',
    view,
    id: `${view}/${part(handle.id)}`,
    engineId: handle.id,
    name: handle.config.name,
    address: listing.address,
    error: listing.ok ? undefined : { message: listing.error.message, code: listing.error.code },
  };
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
