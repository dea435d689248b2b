/**
 * The etcd part of the editor, built once per activation: the cluster registry, the Keys tree,
 * the etcd: file system, and the reaction to a refused save (message plus a diff theirs ↔ yours).
 */
import * as vscode from 'vscode';
import { detectKind, languageOf } from '../../engines/etcd/values';
import type { Services } from '../services';
import { ClusterRegistry } from './clusters';
import { EtcdFileSystem, type ConflictReport } from './fileSystem';
import { HEALTH_SCHEME, HealthContent, REVISION_SCHEME, RevisionContent, revisionUri } from './revisions';
import { EtcdTree } from './tree';
import { ETCD_SCHEME, parseKeyUri } from './uri';

export class EtcdFeature {
  readonly registry: ClusterRegistry;
  readonly tree: EtcdTree;
  readonly fs: EtcdFileSystem;

  constructor(readonly services: Services) {
    this.registry = services.track(new ClusterRegistry(services));
    this.tree = services.track(new EtcdTree(services, this.registry));
    this.fs = services.track(new EtcdFileSystem(services, this.registry));
    services.track(vscode.workspace.registerFileSystemProvider(ETCD_SCHEME, this.fs, { isCaseSensitive: true }));
    services.track(vscode.workspace.registerTextDocumentContentProvider(REVISION_SCHEME, new RevisionContent(this.registry)));
    services.track(vscode.workspace.registerTextDocumentContentProvider(HEALTH_SCHEME, new HealthContent(this.registry)));
    services.track(this.fs.onConflict((report) => void this.showConflict(report)));
    services.track(vscode.workspace.onDidOpenTextDocument((document) => void this.setLanguage(document)));
    for (const document of vscode.workspace.textDocuments) void this.setLanguage(document);
  }

  /** JSON / YAML / text by content, unless the key's name already chose a language. */
  private async setLanguage(document: vscode.TextDocument): Promise<void> {
    if (document.uri.scheme !== ETCD_SCHEME || document.languageId !== 'plaintext') return;
    const kind = detectKind(Buffer.from(document.getText(), 'utf8'));
    if (kind === 'json' || kind === 'yaml') await vscode.languages.setTextDocumentLanguage(document, languageOf(kind));
  }

  private async showConflict(report: ConflictReport): Promise<void> {
    const { cluster, key } = parseKeyUri(report.uri);
    const theirs = revisionUri(cluster, key, report.theirs?.modRevision ?? '0', 'theirs');
    const title = `${key}: theirs (etcd${report.theirs ? ` rev ${report.theirs.modRevision}` : ', deleted'}) ↔ yours (not saved)`;
    await vscode.commands.executeCommand('vscode.diff', theirs, report.uri, title, { preview: true });
    const overwrite = 'Overwrite Theirs';
    const choice = await vscode.window.showWarningMessage(
      `Wharf: not saved. ${report.error.message}. The diff shows their value (left) against yours (right).`,
      overwrite,
      'Keep Theirs',
    );
    if (choice === overwrite) {
      // The user has seen theirs: compare against it now, and save again.
      this.fs.acceptRevision(report.uri, report.theirs);
      const document = vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === report.uri.toString());
      await document?.save();
    } else if (choice === 'Keep Theirs') {
      this.fs.acceptRevision(report.uri, report.theirs);
      await vscode.window.showTextDocument(report.uri);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
  }
}

const features = new WeakMap<Services, EtcdFeature>();

/** The one EtcdFeature of this activation, created on first use. */
export function etcdFeature(services: Services): EtcdFeature {
  let feature = features.get(services);
  if (!feature) {
    feature = new EtcdFeature(services);
    features.set(services, feature);
  }
  return feature;
}
