/** Commands run from a tree node or from the palette; without a node they ask. */
import * as vscode from 'vscode';
import { WharfError } from '../../../engines/core/errors';
import type { EtcdCluster } from '../../../engines/etcd/cluster';
import type { EtcdFeature } from '../feature';
import type { EtcdNode } from '../tree';
import { parseKeyUri } from '../uri';

export async function pickCluster(feature: EtcdFeature, node?: EtcdNode): Promise<string | undefined> {
  if (node && 'cluster' in node) return node.cluster;
  const names = feature.registry.configs().map((config) => config.name);
  if (names.length === 1) return names[0];
  if (!names.length) throw new WharfError({ code: 'not-found', object: 'etcd cluster', cause: 'none configured', remedy: 'Add one with "Add etcd Cluster…"' });
  return vscode.window.showQuickPick(names, { title: 'etcd cluster' });
}

export interface KeyTarget {
  clusterName: string;
  cluster: EtcdCluster;
  key: string;
}

/** A key from the node, the active etcd: editor, or typed in. */
export async function pickKey(feature: EtcdFeature, node?: EtcdNode | vscode.Uri): Promise<KeyTarget | undefined> {
  if (node instanceof vscode.Uri) {
    const parsed = parseKeyUri(node);
    return { clusterName: parsed.cluster, cluster: await feature.registry.cluster(parsed.cluster), key: parsed.key };
  }
  if (node?.type === 'key') return { clusterName: node.cluster, cluster: await feature.registry.cluster(node.cluster), key: node.path };
  const active = vscode.window.activeTextEditor?.document.uri;
  if (!node && active?.scheme === 'etcd') return pickKey(feature, active);
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const key = await vscode.window.showInputBox({ title: `Key in ${clusterName}`, prompt: 'Full key name', value: node && 'path' in node ? node.path : '' });
  if (!key) return undefined;
  return { clusterName, cluster: await feature.registry.cluster(clusterName), key };
}

/** The prefix a node stands for: a folder's path, a cluster's filter. */
export function prefixOf(feature: EtcdFeature, node?: EtcdNode): string {
  if (node?.type === 'folder') return node.path;
  if (node?.type === 'cluster') return feature.tree.filterOf(node.cluster);
  return '';
}
