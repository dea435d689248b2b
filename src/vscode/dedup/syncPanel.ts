/**
 * One webview per sync: the live figures (chunks total / already there / sent, bytes on the wire
 * against `docker save | gzip`, dedup ratio, rate, time) and the host's sync history. Strict CSP,
 * a fresh nonce from crypto.randomBytes, assets only from media/dedup, theme colours in the CSS.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
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
    const media = vscode.Uri.joinPath(extensionUri, 'media', 'dedup');
    this.panel = vscode.window.createWebviewPanel('wharf.dedupSync', title, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: true,
    });
    this.current = { history: [], done: false, chunking };
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'sync.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'sync.css'));
    webview.html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}"><title>${escapeHtml(title)}</title></head>
<body><main id="root" aria-live="polite"><p>Starting…</p></main>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
