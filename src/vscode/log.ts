/** The one "Wharf" log channel; engines get it through the Logger interface. */
import * as vscode from 'vscode';
import type { Logger } from '../engines/core/progress';

export function createLog(): vscode.LogOutputChannel & Logger {
  return vscode.window.createOutputChannel('Wharf', { log: true });
}
