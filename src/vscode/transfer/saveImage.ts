/** Images → right-click → Save to File…: docker save to a .tar or .tar.gz chosen in a save dialog. */
import * as vscode from 'vscode';
import { saveImageToFile, type SaveFileResult } from '../../engines/transfer/file';
import { formatBytes } from '../../engines/transfer/pump';
import type { ImageNode } from '../docker/nodes';
import { pickImage } from '../docker/commands/pick';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { localEngine } from './targets';

export interface SaveImageArgs {
  image?: string;
  file?: string;
  engineHost?: string;
}

export async function saveImage(services: Services, target?: ImageNode | SaveImageArgs, extra?: SaveImageArgs): Promise<SaveFileResult | undefined> {
  if (!requireTrust('Save image')) return undefined;
  const args: SaveImageArgs = { ...(target && !('type' in target) ? target : {}), ...extra };
  const node = args.image ? undefined : await pickImage(services, target);
  const image = args.image ?? node?.image.reference ?? '';
  let file = args.file;
  if (!file) {
    const suggested = `${image.replace(/[/:@]+/g, '_')}.tar.gz`;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      title: `Save ${image}`,
      defaultUri: base ? vscode.Uri.joinPath(base, suggested) : undefined,
      filters: { 'Image archive (gzip)': ['tar.gz', 'tgz'], 'Image archive': ['tar'] },
    });
    if (!uri) return undefined;
    file = uri.fsPath;
  }
  const engine = await localEngine(services, node?.engineId, args.engineHost);
  try {
    const result = await withEditorProgress(`Wharf: saving ${image}`, ({ signal, progress }) =>
      saveImageToFile({ docker: engine.docker, image, file: file as string, signal, progress, log: services.log }),
    );
    void vscode.window.showInformationMessage(`Wharf: saved ${image} to ${result.file} (${formatBytes(result.bytes)}).`);
    return result;
  } finally {
    engine.release();
  }
}
