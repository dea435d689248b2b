/** Create key, create folder, rename, delete key, delete prefix. */
import * as vscode from 'vscode';
import { WharfError } from '../../../engines/core/errors';
import { countForDelete, createKey, deleteKey, deletePrefix, renameKey } from '../../../engines/etcd/edit';
import { getKey } from '../../../engines/etcd/keyspace';
import { requireTrust } from '../../trust';
import type { EtcdFeature } from '../feature';
import type { EtcdNode } from '../tree';
import { keyUri } from '../uri';
import { pickCluster, pickKey, prefixOf } from './pick';

export async function createKeyCommand(feature: EtcdFeature, node?: EtcdNode): Promise<vscode.Uri | undefined> {
  if (!requireTrust('Creating an etcd key')) return undefined;
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const key = await vscode.window.showInputBox({ title: `New key in ${clusterName}`, prompt: 'Full key name', value: prefixOf(feature, node), ignoreFocusOut: true, validateInput: (value) => (value ? undefined : 'Give a key name') });
  if (!key) return undefined;
  const cluster = await feature.registry.cluster(clusterName);
  await createKey(cluster, key, Buffer.alloc(0));
  const uri = keyUri(clusterName, key);
  await vscode.window.showTextDocument(uri);
  return uri;
}

/** etcd has no folders: a folder is made by its first key, which this asks for. */
export async function createFolderCommand(feature: EtcdFeature, node?: EtcdNode): Promise<vscode.Uri | undefined> {
  if (!requireTrust('Creating an etcd folder')) return undefined;
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const separator = vscode.workspace.getConfiguration('wharf').get<string>('etcd.separator', '/') || '/';
  const folder = await vscode.window.showInputBox({ title: `New folder in ${clusterName}`, prompt: `Folder prefix (ends with "${separator}")`, value: prefixOf(feature, node), ignoreFocusOut: true });
  if (!folder) return undefined;
  const prefix = folder.endsWith(separator) ? folder : folder + separator;
  const name = await vscode.window.showInputBox({ title: `First key in ${prefix}`, prompt: 'etcd keeps folders only while keys are in them: name the first key', ignoreFocusOut: true, validateInput: (value) => (value ? undefined : 'Give a key name') });
  if (!name) return undefined;
  const cluster = await feature.registry.cluster(clusterName);
  await createKey(cluster, prefix + name, Buffer.alloc(0));
  const uri = keyUri(clusterName, prefix + name);
  await vscode.window.showTextDocument(uri);
  return uri;
}

export async function renameKeyCommand(feature: EtcdFeature, node?: EtcdNode, newName?: string): Promise<void> {
  if (!requireTrust('Renaming an etcd key')) return;
  const target = await pickKey(feature, node);
  if (!target) return;
  const to = newName ?? (await vscode.window.showInputBox({ title: `Rename ${target.key}`, prompt: 'New full key name', value: target.key, ignoreFocusOut: true }));
  if (!to || to === target.key) return;
  const source = (await getKey(target.cluster, target.key)).value;
  if (!source) throw new WharfError({ code: 'not-found', object: `etcd key ${target.key}`, cause: 'no longer exists', remedy: 'Refresh the tree' });
  await renameKey(target.cluster, source, to);
  feature.fs.fire({ type: vscode.FileChangeType.Deleted, uri: keyUri(target.clusterName, target.key) }, { type: vscode.FileChangeType.Created, uri: keyUri(target.clusterName, to) });
}

export async function deleteKeyCommand(feature: EtcdFeature, node?: EtcdNode, confirmed?: boolean): Promise<boolean> {
  if (!requireTrust('Deleting an etcd key')) return false;
  const target = await pickKey(feature, node);
  if (!target) return false;
  const entry = (await getKey(target.cluster, target.key)).value;
  if (!entry) return false;
  if (!confirmed) {
    const choice = await vscode.window.showWarningMessage(`Delete etcd key "${target.key}" from ${target.clusterName}?`, { modal: true, detail: 'This cannot be undone (its history stays until the next compaction).' }, 'Delete');
    if (choice !== 'Delete') return false;
  }
  await deleteKey(target.cluster, target.key, entry.modRevision);
  feature.fs.fire({ type: vscode.FileChangeType.Deleted, uri: keyUri(target.clusterName, target.key) });
  return true;
}

export async function deletePrefixCommand(feature: EtcdFeature, node?: EtcdNode, confirmed?: boolean): Promise<number> {
  if (!requireTrust('Deleting an etcd prefix')) return 0;
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return 0;
  const prefix = node?.type === 'folder' ? node.path : await vscode.window.showInputBox({ title: `Delete prefix in ${clusterName}`, prompt: 'Prefix to delete', value: prefixOf(feature, node), ignoreFocusOut: true });
  if (!prefix) return 0;
  const cluster = await feature.registry.cluster(clusterName);
  const count = await countForDelete(cluster, prefix);
  if (count === 0) {
    void vscode.window.showInformationMessage(`Wharf: no keys under ${prefix}.`);
    return 0;
  }
  if (!confirmed) {
    const label = `Delete ${count} Key${count === 1 ? '' : 's'}`;
    const choice = await vscode.window.showWarningMessage(`Delete all ${count.toLocaleString()} key${count === 1 ? '' : 's'} under "${prefix}" in ${clusterName}?`, { modal: true, detail: 'This cannot be undone. Export the prefix first if you may need it.' }, label);
    if (choice !== label) return 0;
  }
  const deleted = await deletePrefix(cluster, prefix);
  feature.tree.refresh();
  void vscode.window.showInformationMessage(`Wharf: deleted ${deleted} key${deleted === 1 ? '' : 's'} under ${prefix}.`);
  return deleted;
}
