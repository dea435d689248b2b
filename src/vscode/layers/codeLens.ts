/** Per instruction, the layer it made in the last build: size, cached or rebuilt, time. */
import * as vscode from 'vscode';
import { parseDockerfile } from '../../engines/layers/dockerfile';
import type { BuildRecordStore, StepRecord } from '../../engines/layers/records';
import { formatBytes } from '../../engines/layers/suggestions';

export class LayerCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly store: BuildRecordStore) {}

  refresh(): void {
    this.changed.fire();
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const parsed = parseDockerfile(document.getText());
    const record = await this.store.read(document.uri.fsPath);
    const lenses: vscode.CodeLens[] = [];
    const top = new vscode.Range(0, 0, 0, 0);
    lenses.push(new vscode.CodeLens(top, { title: '$(play) Build with Wharf', command: 'wharf.buildImage', arguments: [document.uri] }));
    lenses.push(new vscode.CodeLens(top, { title: '$(layers) Layer cache', command: 'wharf.showLayers', arguments: [document.uri] }));
    if (!record) return lenses;
    for (const instruction of parsed.instructions) {
      // A step is matched by position and text, so an edited line shows no stale figures.
      const step = record.steps.find((candidate) => candidate.step === instruction.step && candidate.text === `${instruction.keyword} ${instruction.args}`);
      if (!step) continue;
      const range = new vscode.Range(instruction.line, 0, instruction.line, 0);
      lenses.push(new vscode.CodeLens(range, { title: lensTitle(step), command: 'wharf.showLayers', arguments: [document.uri], tooltip: 'Open the layer cache view' }));
    }
    return lenses;
  }
}

export function lensTitle(step: StepRecord): string {
  const parts: string[] = [];
  const outcome: Record<string, string> = { hit: '$(check) cached', miss: '$(sync) rebuilt', base: '$(package) base image', failed: '$(error) failed', 'not-run': '$(circle-slash) not run', unknown: '' };
  if (outcome[step.cache]) parts.push(outcome[step.cache]);
  if (step.size !== undefined) parts.push(formatBytes(step.size));
  if (step.durationMs !== undefined && step.cache !== 'not-run' && step.cache !== 'base') parts.push(`${(step.durationMs / 1000).toFixed(1)}s`);
  return parts.join(' · ');
}
