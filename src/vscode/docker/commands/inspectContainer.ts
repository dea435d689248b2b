/** Opens a container's `docker inspect` JSON as a read-only document. */
import * as vscode from 'vscode';
import type { Services } from '../../services';
import { inspectUri } from '../inspectDocuments';
import { pickContainer } from './pick';

export async function inspectContainer(services: Services, node?: unknown): Promise<vscode.TextDocument> {
  const { engineId, container } = await pickContainer(services, node);
  const document = await vscode.workspace.openTextDocument(inspectUri(engineId, 'container', container.id, container.name));
  await vscode.window.showTextDocument(document, { preview: true });
  return document;
}
