/** Shows or hides untagged images in the Images view. */
import * as vscode from 'vscode';
import type { Services } from '../../services';
import { dockerExplorer } from '../explorer';

export async function toggleDanglingImages(services: Services): Promise<boolean> {
  const explorer = dockerExplorer(services);
  explorer.images.showDangling = !explorer.images.showDangling;
  await vscode.commands.executeCommand('setContext', 'wharf.showDanglingImages', explorer.images.showDangling);
  explorer.refresh.refresh('images', 'manual');
  return explorer.images.showDangling;
}
