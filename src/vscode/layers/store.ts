/** Build records live in the extension's global storage, never in the user's project. */
import * as vscode from 'vscode';
import { BuildRecordStore } from '../../engines/layers/records';
import type { Services } from '../services';

export function recordStore(services: Services): BuildRecordStore {
  return new BuildRecordStore(vscode.Uri.joinPath(services.context.globalStorageUri, 'builds').fsPath);
}

/** Dockerfiles by language id, and by name for editors without the Docker language. */
export const DOCKERFILE_SELECTOR: vscode.DocumentSelector = [
  { language: 'dockerfile', scheme: 'file' },
  { pattern: '**/{Dockerfile,*.Dockerfile,Dockerfile.*,*.dockerfile}', scheme: 'file' },
];

export function isDockerfile(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' && vscode.languages.match(DOCKERFILE_SELECTOR, document) > 0;
}
