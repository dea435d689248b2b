/** Commands that run, push, send or change things need a trusted workspace; browsing does not. */
import * as vscode from 'vscode';

export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(`Wharf: ${action} needs a trusted workspace. Restricted Mode only allows browsing.`, 'Manage Workspace Trust')
    .then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return false;
}
