/**
 * Wharf's entry point. Activation happens only when a Wharf view opens or a Wharf command runs
 * (VS Code derives those events from the manifest). Everything here is wiring; the work lives in
 * src/engines, which never imports vscode.
 */
import type * as vscode from 'vscode';
import { registerCommands } from './vscode/commands/registerCommands';
import { Services } from './vscode/services';
import { registerTrees } from './vscode/trees/registerTrees';

let services: Services | undefined;

export function activate(context: vscode.ExtensionContext): { services: Services } {
  services = new Services(context);
  context.subscriptions.push(services);
  registerCommands(services);
  registerTrees(services);
  services.log.info(`Wharf ${services.version} activated`);
  return { services };
}

export function deactivate(): void {
  services?.dispose();
  services = undefined;
}
