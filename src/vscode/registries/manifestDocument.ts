/** Read-only JSON documents for manifests: `wharf-manifest:/<registry>/<repo>@<ref>.json`. */
import * as vscode from 'vscode';
import type { RegistriesTree } from './tree';

export const MANIFEST_SCHEME = 'wharf-manifest';

export function manifestUri(registry: string, repository: string, ref: string): vscode.Uri {
  return vscode.Uri.from({ scheme: MANIFEST_SCHEME, path: `/${registry}/${repository}@${ref}.json` });
}

export class ManifestDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly tree: RegistriesTree) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const path = uri.path.replace(/^\//, '').replace(/\.json$/, '');
    const slash = path.indexOf('/');
    const at = path.lastIndexOf('@');
    const registry = path.slice(0, slash);
    const repository = path.slice(slash + 1, at);
    const ref = path.slice(at + 1);
    const manifest = await this.tree.client(registry).getManifest(repository, ref);
    const body = JSON.parse(manifest.bytes.toString('utf8')) as unknown;
    return `// ${registry}/${repository}@${manifest.digest}\n// ${manifest.mediaType}\n${JSON.stringify(body, null, 2)}\n`;
  }
}
