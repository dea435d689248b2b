/** Opens an image's layers (`docker history`) as a read-only document. */
import * as vscode from 'vscode';
import type { Services } from '../../services';
import { inspectUri } from '../inspectDocuments';
import { pickImage } from './pick';

export async function imageHistory(services: Services, node?: unknown): Promise<vscode.TextDocument> {
  const { engineId, image } = await pickImage(services, node, { allowDangling: true });
  const ref = image.dangling ? image.id : image.reference;
  const document = await vscode.workspace.openTextDocument(inspectUri(engineId, 'history', ref, ref));
  await vscode.window.showTextDocument(document, { preview: true });
  return document;
}
