/** Dockerfile syntax errors as you type, and a failed build at its failing instruction. */
import * as vscode from 'vscode';
import { parseDockerfile } from '../../engines/layers/dockerfile';
import type { BuildRecord } from '../../engines/layers/records';
import { isDockerfile } from './store';

export class DockerfileDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('wharf-dockerfile');
  /** The last failed build per Dockerfile, shown until the next build or an edit of that line. */
  private readonly failures = new Map<string, vscode.Diagnostic>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument((document) => this.update(document)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        this.failures.delete(event.document.uri.toString());
        this.update(event.document);
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.collection.delete(document.uri)),
    );
    for (const document of vscode.workspace.textDocuments) this.update(document);
  }

  update(document: vscode.TextDocument): void {
    if (!isDockerfile(document)) return;
    const diagnostics = parseDockerfile(document.getText()).problems.map((problem) => {
      const end = Math.min(problem.endLine, document.lineCount - 1);
      const diagnostic = new vscode.Diagnostic(new vscode.Range(problem.line, 0, end, document.lineAt(end).text.length), problem.message, problem.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      diagnostic.source = 'wharf';
      return diagnostic;
    });
    const failure = this.failures.get(document.uri.toString());
    this.collection.set(document.uri, failure ? [...diagnostics, failure] : diagnostics);
  }

  showBuild(uri: vscode.Uri, record: BuildRecord): void {
    const key = uri.toString();
    if (record.status === 'failed' && record.error?.line !== undefined) {
      const line = record.error.line;
      const end = record.error.endLine ?? line;
      const diagnostic = new vscode.Diagnostic(new vscode.Range(line, 0, end, Number.MAX_SAFE_INTEGER), `Build failed here: ${record.error.message}`, vscode.DiagnosticSeverity.Error);
      diagnostic.source = 'wharf build';
      this.failures.set(key, diagnostic);
    } else this.failures.delete(key);
    const document = vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === key);
    if (document) this.update(document);
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.collection.dispose();
  }
}
