/** The view's own commands: refresh, tree/flat, filter by prefix, load more, cluster password. */
import * as vscode from 'vscode';
import type { EtcdFeature } from '../feature';
import type { EtcdNode } from '../tree';
import { pickCluster } from './pick';

export function refreshCommand(feature: EtcdFeature, node?: EtcdNode): void {
  feature.tree.refresh(node);
}

export async function toggleFlatCommand(feature: EtcdFeature): Promise<void> {
  await feature.tree.setFlat(!feature.tree.flat);
}

export async function filterCommand(feature: EtcdFeature, node?: EtcdNode, prefix?: string): Promise<void> {
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return;
  const value = prefix ?? (await vscode.window.showInputBox({ title: `Filter ${clusterName} by prefix`, prompt: 'Show only keys starting with this prefix (empty shows all)', value: feature.tree.filterOf(clusterName) }));
  if (value === undefined) return;
  await feature.tree.setFilter(clusterName, value);
}

export function loadMoreCommand(feature: EtcdFeature, node?: EtcdNode): void {
  if (node?.type === 'more') feature.tree.loadMore(node);
}

export async function setPasswordCommand(feature: EtcdFeature, node?: EtcdNode): Promise<void> {
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return;
  const config = feature.registry.config(clusterName);
  const password = await vscode.window.showInputBox({ title: `Password for ${config.username ?? 'the user'} on ${clusterName}`, password: true, prompt: 'Kept in VS Code secret storage, never in settings', ignoreFocusOut: true });
  if (password === undefined) return;
  await feature.registry.setPassword(clusterName, password);
}
