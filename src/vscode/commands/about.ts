/** "About Wharf": versions, for bug reports; returns them too, so tests can round-trip a command. */
import * as vscode from 'vscode';
import type { Services } from '../services';

export interface AboutInfo {
  version: string;
  vscodeVersion: string;
  node: string;
  trusted: boolean;
  /** The manifest's `engines` (the VS Code range Wharf supports). */
  engines: Record<string, string>;
}

export async function about(services: Services, options?: { quiet?: boolean }): Promise<AboutInfo> {
  const info: AboutInfo = {
    version: services.version,
    vscodeVersion: vscode.version,
    node: process.version,
    trusted: vscode.workspace.isTrusted,
    engines: (services.context.extension.packageJSON as { engines: Record<string, string> }).engines,
  };
  services.log.info(`Wharf ${info.version} on VS Code ${info.vscodeVersion}, Node ${info.node}`);
  if (!options?.quiet) {
    void vscode.window.showInformationMessage(`Wharf ${info.version} · VS Code ${info.vscodeVersion} · Node ${info.node}`);
  }
  return info;
}
