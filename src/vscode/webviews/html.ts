/**
 * The one page shell every Wharf webview uses: a strict CSP (nothing but our own stylesheet and one
 * nonce'd script from media/), theme colours through the stylesheet, and a live region the script
 * fills from posted state.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export interface PanelAssets {
  /** media/<folder> holding the script and stylesheet; the webview may load nothing else. */
  folder: vscode.Uri;
  script: string;
  style: string;
}

/** `retain` keeps a hidden panel alive (live progress); without it the script restores from setState. */
export function panelOptions(assets: PanelAssets, retain = true): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [assets.folder], retainContextWhenHidden: retain };
}

export function panelHtml(webview: vscode.Webview, assets: PanelAssets, title: string): string {
  // A fresh nonce per page, from the CSPRNG: the CSP only runs the script carrying it.
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(assets.folder, assets.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(assets.folder, assets.style));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; font-src ${webview.cspSource}; img-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}"><title>${escapeHtml(title)}</title></head>
<body><main id="root" aria-live="polite"><p>Starting…</p></main>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
