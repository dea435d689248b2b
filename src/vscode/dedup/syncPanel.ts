/**
 * One webview per sync: the live figures (chunks total / already there / sent, bytes on the wire
 * against `docker save | gzip`, dedup ratio, rate, time) and the host's sync history. Strict CSP,
 * a fresh nonce from crypto.randomBytes, assets only from media/dedup, theme colours in the CSS.
 */
import * as vscode from 'vscode';
import { panelHtml, panelOptions, type PanelAssets } from '../webviews/html';
import type { HistoryEntry, SyncFigures } from '../../engines/dedup/sync';

export interface SyncPanelState {
  figures?: SyncFigures;
  history: HistoryEntry[];
  done: boolean;
  error?: string;
  chunking: string;
}

export class SyncPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private current: SyncPanelState;
  private disposed = false;

  constructor(extensionUri: vscode.Uri, title: string, chunking: string) {
    const assets: PanelAssets = { folder: vscode.Uri.joinPath(extensionUri, 'media', 'dedup'), script: 'sync.js', style: 'sync.css' };
    this.panel = vscode.window.createWebviewPanel('wharf.dedupSync', title, vscode.ViewColumn.Active, panelOptions(assets));
    this.current = { history: [], done: false, chunking };
    const webview = this.panel.webview;
    webview.html = panelHtml(webview, assets, title);
    // The script asks for the state when it loads (also after the panel was hidden and shown).
    webview.onDidReceiveMessage((message: { type?: string }) => {
      if (message?.type === 'ready') void this.post();
    });
    this.panel.onDidDispose(() => (this.disposed = true));
  }

  /** What the webview shows; tests read it through the command's return value. */
  get state(): SyncPanelState {
    return this.current;
  }

  get visible(): boolean {
    return !this.disposed;
  }

  update(change: Partial<SyncPanelState>): void {
    this.current = { ...this.current, ...change };
    void this.post();
  }

  private post(): Thenable<boolean> | undefined {
    if (this.disposed) return undefined;
    return this.panel.webview.postMessage({ type: 'state', state: this.current });
  }

  dispose(): void {
    this.panel.dispose();
  }
}

