/** The Dockerfile side of the layer cache: CodeLens, diagnostics, and the build output channel. */
import * as vscode from 'vscode';
import type { BuildRecordStore } from '../../engines/layers/records';
import type { Services } from '../services';
import { LayerCodeLensProvider } from './codeLens';
import { DockerfileDiagnostics } from './diagnostics';
import { LAYERS_VIEW_TYPE, LayersPanel } from './panel';
import type { LayersViewState } from './protocol';
import { DOCKERFILE_SELECTOR, recordStore } from './store';

export interface LayersFeature {
  store: BuildRecordStore;
  codeLens: LayerCodeLensProvider;
  diagnostics: DockerfileDiagnostics;
  output: vscode.OutputChannel;
}

const features = new WeakMap<Services, LayersFeature>();

/** Created once per activation, on first use (activation or the first command). */
export function layersFeature(services: Services): LayersFeature {
  let feature = features.get(services);
  if (feature) return feature;
  const store = recordStore(services);
  const codeLens = new LayerCodeLensProvider(store);
  feature = {
    store,
    codeLens,
    diagnostics: services.track(new DockerfileDiagnostics()),
    output: services.track(vscode.window.createOutputChannel('Wharf Build')),
  };
  services.track(vscode.languages.registerCodeLensProvider(DOCKERFILE_SELECTOR, codeLens));
  // Layer cache panels come back after a window reload, on the same Dockerfile or image.
  services.track(
    vscode.window.registerWebviewPanelSerializer(LAYERS_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: LayersViewState | undefined) => LayersPanel.revive(services, panel, state?.target),
    }),
  );
  features.set(services, feature);
  return feature;
}
