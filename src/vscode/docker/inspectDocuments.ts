/**
 * Read-only documents for inspect and history, on the `wharf-inspect` scheme. The URI names the
 * engine, the kind and the object; the content is fetched when VS Code asks, so reopening a
 * document shows the current state.
 */
import * as vscode from 'vscode';
import { inspectContainer } from '../../engines/docker/containerOps';
import { formatAge, formatSize } from '../../engines/docker/images';
import { imageHistory, inspectImage } from '../../engines/docker/imageOps';
import type { Engines } from './engines';

export const INSPECT_SCHEME = 'wharf-inspect';

export type InspectKind = 'image' | 'container' | 'history';

export function inspectUri(engineId: string, kind: InspectKind, ref: string, label: string): vscode.Uri {
  const extension = kind === 'history' ? 'txt' : 'json';
  const name = `${label.replace(/[/:@\\]/g, '_')}.${kind}.${extension}`;
  return vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${name}`, query: new URLSearchParams({ engine: engineId, kind, ref }).toString() });
}

export class InspectDocuments implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly engines: Engines) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const engineId = query.get('engine') ?? '';
    const ref = query.get('ref') ?? '';
    const docker = await this.engines.docker(engineId);
    switch (query.get('kind')) {
      case 'image':
        return `${JSON.stringify(await inspectImage(docker, ref), null, 2)}\n`;
      case 'container':
        return `${JSON.stringify(await inspectContainer(docker, ref), null, 2)}\n`;
      case 'history': {
        const rows = (await imageHistory(docker, ref)).map((entry) => [
          entry.Id === '<missing>' ? '<missing>' : entry.Id.replace(/^sha256:/, '').slice(0, 12),
          formatAge(entry.Created),
          formatSize(entry.Size),
          entry.CreatedBy.replace(/^\/bin\/sh -c #\(nop\)\s*/, '').replace(/\s+/g, ' ').trim(),
        ]);
        const header = ['LAYER', 'CREATED', 'SIZE', 'CREATED BY'];
        const widths = header.slice(0, 3).map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
        const line = (row: string[]) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell)).join('  ');
        return `History of ${ref} (newest layer first)\n\n${[header, ...rows].map(line).join('\n')}\n`;
      }
      default:
        return `Unknown document ${uri.toString()}\n`;
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
