/** History: pick an earlier revision, see it against the current value, restore it as a CAS write. */
import * as vscode from 'vscode';
import { keyHistory, restoreVersion } from '../../../engines/etcd/history';
import { preview } from '../../../engines/etcd/values';
import { requireTrust } from '../../trust';
import type { EtcdFeature } from '../feature';
import { revisionUri } from '../revisions';
import type { EtcdNode } from '../tree';
import { keyUri } from '../uri';
import { pickKey } from './pick';

export async function historyCommand(feature: EtcdFeature, node?: EtcdNode | vscode.Uri): Promise<void> {
  const target = await pickKey(feature, node);
  if (!target) return;
  const history = await keyHistory(target.cluster, target.key);
  const [current, ...older] = history.versions;
  if (!older.length) {
    void vscode.window.showInformationMessage(`Wharf: ${target.key} has no earlier revisions${history.truncatedByCompaction ? ' left (compacted)' : ''}.`);
    return;
  }
  const picked = await vscode.window.showQuickPick(
    older.map((entry) => ({ label: `rev ${entry.modRevision}`, description: `version ${entry.version}`, detail: preview(entry.value), entry })),
    { title: `History of ${target.key}${history.truncatedByCompaction ? ' (older revisions compacted)' : ''}`, placeHolder: 'Pick a revision to compare with the current value' },
  );
  if (!picked) return;
  const left = revisionUri(target.clusterName, target.key, picked.entry.modRevision, 'old');
  const right = revisionUri(target.clusterName, target.key, current.modRevision, 'current');
  await vscode.commands.executeCommand('vscode.diff', left, right, `${target.key}: rev ${picked.entry.modRevision} ↔ current (rev ${current.modRevision})`);
  const restore = `Restore rev ${picked.entry.modRevision}`;
  const choice = await vscode.window.showInformationMessage(`Restore ${target.key} to its value at revision ${picked.entry.modRevision}?`, restore);
  if (choice !== restore || !requireTrust('Restoring an etcd key')) return;
  await restoreVersion(target.cluster, target.key, picked.entry, current.modRevision, current.lease);
  feature.fs.fire({ type: vscode.FileChangeType.Changed, uri: keyUri(target.clusterName, target.key) });
  void vscode.window.showInformationMessage(`Wharf: ${target.key} restored to revision ${picked.entry.modRevision}.`);
}
