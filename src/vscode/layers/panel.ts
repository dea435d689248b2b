/**
 * The "Layer cache" webview: one panel per Dockerfile or image (created or revealed), strict CSP
 * with a crypto nonce, assets from media/layers only, theme colours in the CSS. The analysis runs
 * in the engine; the panel only renders the report it is sent.
 */
import * as vscode from 'vscode';
import { panelHtml, panelOptions, type PanelAssets } from '../webviews/html';
import { analyzeDockerfile, analyzeImage } from '../../engines/layers/analyze';
import { messageOf } from '../../engines/core/errors';
import type { Services } from '../services';
import { chooseEngine } from './engine';
import { layersFeature } from './feature';
import type { FromWebview, LayersViewState, SavedTarget, ToWebview } from './protocol';

export type LayersTarget = { kind: 'dockerfile'; uri: vscode.Uri } | { kind: 'image'; image: string; engineId?: string };

export const LAYERS_VIEW_TYPE = 'wharf.layers';

const panels = new Map<string, LayersPanel>();

function toSaved(target: LayersTarget): SavedTarget {
  return target.kind === 'dockerfile' ? { kind: 'dockerfile', uri: target.uri.toString() } : { kind: 'image', image: target.image, engineId: target.engineId };
}

/** State from a webview is data we wrote, but check its shape before acting on it. */
function fromSaved(saved: unknown): LayersTarget | undefined {
  const value = saved as Partial<{ kind: string; uri: string; image: string; engineId: string }> | undefined;
  if (value?.kind === 'dockerfile' && typeof value.uri === 'string') return { kind: 'dockerfile', uri: vscode.Uri.parse(value.uri) };
  if (value?.kind === 'image' && typeof value.image === 'string' && value.image) return { kind: 'image', image: value.image, engineId: typeof value.engineId === 'string' ? value.engineId : undefined };
  return undefined;
}

function keyOf(target: LayersTarget): string {
  return target.kind === 'dockerfile' ? `file:${target.uri.fsPath}` : `image:${target.engineId ?? ''}:${target.image}`;
}

export class LayersPanel {
  private state: LayersViewState;
  private running?: AbortController;

  static show(services: Services, target: LayersTarget): LayersPanel {
    const key = keyOf(target);
    const existing = panels.get(key);
    if (existing) {
      existing.panel.reveal();
      void existing.load();
      return existing;
    }
    const created = new LayersPanel(services, target, key);
    panels.set(key, created);
    return created;
  }

  /** A panel VS Code restored after a reload: reattach it to its target and analyse again. */
  static revive(services: Services, panel: vscode.WebviewPanel, saved: SavedTarget | undefined): void {
    const target = fromSaved(saved);
    if (!target || panels.has(keyOf(target))) {
      panel.dispose();
      return;
    }
    panels.set(keyOf(target), new LayersPanel(services, target, keyOf(target), panel));
  }

  /** For tests: the panel showing a target, if open. */
  static find(target: LayersTarget): LayersPanel | undefined {
    return panels.get(keyOf(target));
  }

  readonly panel: vscode.WebviewPanel;

  private constructor(
    private readonly services: Services,
    private readonly target: LayersTarget,
    key: string,
    restored?: vscode.WebviewPanel,
  ) {
    const title = target.kind === 'dockerfile' ? `Layer cache: ${vscode.workspace.asRelativePath(target.uri)}` : `Layer cache: ${target.image}`;
    this.state = { title, kind: target.kind, loading: true, target: toSaved(target) };
    const assets: PanelAssets = { folder: vscode.Uri.joinPath(services.context.extensionUri, 'media', 'layers'), script: 'layers.js', style: 'layers.css' };
    this.panel = restored ?? vscode.window.createWebviewPanel(LAYERS_VIEW_TYPE, title, vscode.ViewColumn.Beside, panelOptions(assets, false));
    const webview = this.panel.webview;
    // A restored panel comes with the options it was saved with; set them again (CSP roots).
    if (restored) webview.options = panelOptions(assets, false);
    webview.html = panelHtml(webview, assets, title);
    services.track(
      webview.onDidReceiveMessage((message: FromWebview) => void this.onMessage(message)),
    );
    this.panel.onDidDispose(() => {
      this.running?.abort();
      panels.delete(key);
    });
    void this.load();
  }

  get current(): LayersViewState {
    return this.state;
  }

  private post(): Thenable<boolean> {
    const message: ToWebview = { type: 'state', state: this.state };
    return this.panel.webview.postMessage(message);
  }

  private async onMessage(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        await this.post();
        break;
      case 'refresh':
        await this.load();
        break;
      case 'build':
        if (this.target.kind === 'dockerfile') {
          await vscode.commands.executeCommand('wharf.buildImage', this.target.uri, {});
          await this.load();
        }
        break;
      case 'reveal':
        if (this.target.kind === 'dockerfile') {
          const line = Math.max(0, message.line);
          await vscode.window.showTextDocument(this.target.uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(line, 0, line, 0) });
        }
        break;
    }
  }

  /** (Re)runs the analysis; an earlier run still going is cancelled. */
  async load(): Promise<void> {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.state = { ...this.state, loading: true, error: undefined, progress: 'Reading layers…' };
    void this.post();
    let engine: Awaited<ReturnType<typeof chooseEngine>> | undefined;
    try {
      engine = await chooseEngine(this.target.kind === 'image' ? this.target.engineId : undefined);
      const options = {
        engine: engine.label,
        store: layersFeature(this.services).store,
        signal: controller.signal,
        progress: { report: (update: { message?: string }) => void this.progress(update.message) },
      };
      const report = this.target.kind === 'dockerfile' ? await analyzeDockerfile(engine.docker, this.target.uri.fsPath, options) : await analyzeImage(engine.docker, this.target.image, options);
      if (controller.signal.aborted) return;
      this.state = { ...this.state, loading: false, progress: undefined, report };
    } catch (error) {
      if (controller.signal.aborted) return;
      this.services.log.error(`layer cache: ${messageOf(error)}`);
      this.state = { ...this.state, loading: false, progress: undefined, error: messageOf(error) };
    } finally {
      engine?.close();
    }
    await this.post();
  }

  private progress(message?: string): void {
    if (!message || this.state.progress === message) return;
    this.state = { ...this.state, progress: message };
    void this.post();
  }
}

