/**
 * What commands, trees and webviews share: built once in activate(), disposed in reverse order.
 * Rarely used services are created on first use.
 */
import * as vscode from 'vscode';
import { createLog } from './log';

export class Services implements vscode.Disposable {
  readonly log = createLog();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.track(this.log);
  }

  get version(): string {
    return (this.context.extension.packageJSON as { version: string }).version;
  }

  get secrets(): vscode.SecretStorage {
    return this.context.secrets;
  }

  track<T extends vscode.Disposable>(disposable: T): T {
    this.disposables.push(disposable);
    return disposable;
  }

  dispose(): void {
    for (const disposable of this.disposables.splice(0).reverse()) disposable.dispose();
  }
}
