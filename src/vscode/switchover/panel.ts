/**
 * One panel per switchover: the step timeline with each step's status and log lines, and a Roll
 * back button once it has finished. Strict CSP, a fresh nonce from crypto.randomBytes, assets only
 * from media/switchover, theme colours in the CSS. The state it shows is kept here (`state`) so the
 * command can return it and tests can read it.
 */
import * as vscode from 'vscode';
import { panelHtml, panelOptions, type PanelAssets } from '../webviews/html';
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
    const assets: PanelAssets = { folder: vscode.Uri.joinPath(extensionUri, 'media', 'switchover'), script: 'timeline.js', style: 'timeline.css' };
    this.panel = vscode.window.createWebviewPanel('wharf.switchover', initial.title, vscode.ViewColumn.Active, panelOptions(assets));
    this.current = initial;
    lastState = initial;
    const webview = this.panel.webview;
    webview.html = panelHtml(webview, assets, initial.title);
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

