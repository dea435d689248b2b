/**
 * One panel per switchover: the step timeline with each step's status and log lines, and a Roll
 * back button once it has finished. Strict CSP, a fresh nonce from crypto.randomBytes, assets only
 * from media/switchover, theme colours in the CSS. The state it shows is kept here (`state`) so the
 * command can return it and tests can read it.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { PanelMessage, SwitchoverPanelState } from './protocol';

/** The last panel's state, for the extension's exports (tests read the final timeline). */
let lastState: SwitchoverPanelState | undefined;
export const lastSwitchoverState = () => lastState;

export class SwitchoverPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private current: SwitchoverPanelState;
  private disposed = false;
  private pending: NodeJS.Timeout | undefined;

  constructor(extensionUri: vscode.Uri, initial: SwitchoverPanelState, onRollBack: () => void) {
    const media = vscode.Uri.joinPath(extensionUri, 'media', 'switchover');
    this.panel = vscode.window.createWebviewPanel('wharf.switchover', initial.title, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: true,
    });
    this.current = initial;
    lastState = initial;
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'timeline.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'timeline.css'));
    webview.html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}"><title>${escapeHtml(initial.title)}</title></head>
<body><main id="root" aria-live="polite"><p>Starting…</p></main>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
    webview.onDidReceiveMessage((message: PanelMessage) => {
      if (message?.type === 'ready') void this.post();
      if (message?.type === 'rollback' && this.current.canRollBack) onRollBack();
    });
    this.panel.onDidDispose(() => (this.disposed = true));
  }

  get state(): SwitchoverPanelState {
    return this.current;
  }

  get visible(): boolean {
    return !this.disposed;
  }

  update(change: Partial<SwitchoverPanelState>): void {
    this.current = { ...this.current, ...change };
    lastState = this.current;
    // Probes log several lines a second: post at most every 100 ms.
    if (!this.pending) {
      this.pending = setTimeout(() => {
        this.pending = undefined;
        void this.post();
      }, 100);
    }
  }

  private post(): Thenable<boolean> | undefined {
    if (this.disposed) return undefined;
    return this.panel.webview.postMessage({ type: 'state', state: this.current });
  }

  reveal(): void {
    if (!this.disposed) this.panel.reveal();
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.panel.dispose();
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
