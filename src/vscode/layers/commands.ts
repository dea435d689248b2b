/** The layer-cache commands, merged into the one command table. */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { buildImage } from './buildImage';
import { LayersPanel } from './panel';

/** From an editor/explorer (a Dockerfile Uri), the Images tree (an image node), or the palette. */
export async function showLayers(services: Services, target?: unknown): Promise<LayersPanel | undefined> {
  if (target instanceof vscode.Uri) return LayersPanel.show(services, { kind: 'dockerfile', uri: target });
  const node = target as { type?: string; engineId?: string; image?: { reference?: string; id?: string } } | undefined;
  if (node?.type === 'image' && node.image) return LayersPanel.show(services, { kind: 'image', image: node.image.reference ?? node.image.id ?? '', engineId: node.engineId });
  if (typeof target === 'string') return LayersPanel.show(services, { kind: 'image', image: target });
  const uri = vscode.window.activeTextEditor?.document.uri;
  if (uri?.scheme === 'file') return LayersPanel.show(services, { kind: 'dockerfile', uri });
  const image = await vscode.window.showInputBox({ title: 'Layer cache', prompt: 'Image to analyse (name:tag or id)' });
  return image ? LayersPanel.show(services, { kind: 'image', image }) : undefined;
}

export const layersCommands = {
  'wharf.buildImage': buildImage,
  'wharf.showLayers': showLayers,
};
