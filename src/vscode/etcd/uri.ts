/**
 * Keys as documents: etcd://<cluster>/<key>. A key like "/app/cfg" is the path itself. Other keys
 * ("app/cfg", or with "//" inside, which editors collapse) get a readable path plus the exact key
 * in the query, so every key maps to one URI and back.
 */
import * as vscode from 'vscode';

export const ETCD_SCHEME = 'etcd';

export function keyUri(cluster: string, key: string): vscode.Uri {
  const plain = key.startsWith('/') && !key.includes('//');
  return vscode.Uri.from({
    scheme: ETCD_SCHEME,
    authority: encodeURIComponent(cluster),
    path: plain ? key : `/${key}`.replace(/\/{2,}/g, '/'),
    query: plain ? '' : `key=${encodeURIComponent(key)}`,
  });
}

export function parseKeyUri(uri: vscode.Uri): { cluster: string; key: string } {
  const exact = new URLSearchParams(uri.query).get('key');
  return { cluster: decodeURIComponent(uri.authority), key: exact ?? uri.path };
}
