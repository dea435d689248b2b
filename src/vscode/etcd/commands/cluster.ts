/** Cluster health as a read-only document; import and export of a prefix as JSON. */
import { createWriteStream } from 'node:fs';
import * as vscode from 'vscode';
import { exportPrefix, importDocument, readExportFile } from '../../../engines/etcd/transfer';
import { withEditorProgress } from '../../progress';
import { requireTrust } from '../../trust';
import type { EtcdFeature } from '../feature';
import { healthUri } from '../revisions';
import type { EtcdNode } from '../tree';
import { pickCluster, prefixOf } from './pick';

export async function healthCommand(feature: EtcdFeature, node?: EtcdNode): Promise<vscode.TextDocument | undefined> {
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const document = await vscode.workspace.openTextDocument(healthUri(clusterName));
  await vscode.languages.setTextDocumentLanguage(document, 'markdown');
  await vscode.window.showTextDocument(document, { preview: true });
  return document;
}

export async function exportCommand(feature: EtcdFeature, node?: EtcdNode, target?: vscode.Uri): Promise<number | undefined> {
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const prefix = prefixOf(feature, node);
  const file = target ?? (await vscode.window.showSaveDialog({ title: `Export ${prefix || 'all keys'} from ${clusterName}`, filters: { JSON: ['json'] }, defaultUri: vscode.Uri.file(`${clusterName}-${prefix.replace(/[^\w.-]+/g, '_') || 'all'}.json`) }));
  if (!file) return undefined;
  const cluster = await feature.registry.cluster(clusterName);
  const count = await withEditorProgress(`Exporting ${prefix || 'all keys'}`, async ({ signal, progress }) => {
    const out = createWriteStream(file.fsPath);
    try {
      return await exportPrefix(cluster, prefix, out, { signal, progress });
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
  });
  void vscode.window.showInformationMessage(`Wharf: exported ${count} keys to ${file.fsPath}.`);
  return count;
}

export async function importCommand(feature: EtcdFeature, node?: EtcdNode, source?: vscode.Uri, targetPrefix?: string): Promise<number | undefined> {
  if (!requireTrust('Importing etcd keys')) return undefined;
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const file = source ?? (await vscode.window.showOpenDialog({ title: `Import into ${clusterName}`, filters: { JSON: ['json'] }, canSelectMany: false }))?.[0];
  if (!file) return undefined;
  const document = await readExportFile(file.fsPath);
  const prefix =
    targetPrefix ??
    (await vscode.window.showInputBox({ title: `Import ${document.keys.length} keys into ${clusterName}`, prompt: `Keys were exported under "${document.prefix}". Put them under:`, value: node ? prefixOf(feature, node) || document.prefix : document.prefix, ignoreFocusOut: true }));
  if (prefix === undefined) return undefined;
  const cluster = await feature.registry.cluster(clusterName);
  const count = await withEditorProgress(`Importing ${document.keys.length} keys`, ({ signal, progress }) => importDocument(cluster, document, { signal, progress, targetPrefix: prefix }));
  feature.tree.refresh();
  void vscode.window.showInformationMessage(`Wharf: imported ${count} keys under ${prefix}.`);
  return count;
}
