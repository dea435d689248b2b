/** Import Image from File…: a filesystem tarball (e.g. from docker export) becomes a one-layer image. */
import * as vscode from 'vscode';
import { importFile, type ExportImportResult } from '../../engines/transfer/exportImport';
import type { OpenHost } from '../../engines/transfer/host';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { askArchive, askWhere } from './loadImage';
import { openEditorHost } from './sshPrompts';
import { localEngine } from './targets';

export interface ImportImageArgs {
  file?: string;
  ref?: string;
  host?: string;
  engineHost?: string;
  sshConfigFile?: string;
}

export async function importImage(services: Services, target?: ImportImageArgs): Promise<ExportImportResult | undefined> {
  if (!requireTrust('Import image')) return undefined;
  const args: ImportImageArgs = target && !('type' in target) ? target : {};
  const file = await askArchive('Import a filesystem tarball as an image', args.file);
  if (!file) return undefined;
  const ref = args.ref ?? (await vscode.window.showInputBox({ title: 'Import as image', prompt: 'New image reference (one layer, no history)', value: 'imported:latest', ignoreFocusOut: true }));
  if (!ref) return undefined;
  const where = await askWhere(`Import ${ref} into…`, args.host);
  if (!where) return undefined;
  const remote = where !== 'local' ? where : undefined;
  const engine = remote ? undefined : await localEngine(services, undefined, args.engineHost);
  let opened: OpenHost | undefined;
  try {
    if (remote) opened = await openEditorHost(services, remote, args.sshConfigFile);
    const result = await withEditorProgress(`Wharf: importing ${file} as ${ref}`, ({ signal, progress }) =>
      importFile({ file, ref, docker: engine?.docker, ssh: opened?.client, host: remote, signal, progress, log: services.log }),
    );
    void vscode.window.showInformationMessage(`Wharf: imported ${ref} on ${result.where}.`);
    return result;
  } finally {
    opened?.close();
    engine?.release();
  }
}
