/** Leases: put with a TTL, show the TTL left, keep alive once, revoke (which deletes the keys). */
import * as vscode from 'vscode';
import { WharfError } from '../../../engines/core/errors';
import { getKey } from '../../../engines/etcd/keyspace';
import { keepAliveOnce, keyLease, putWithTtl, revokeLease } from '../../../engines/etcd/leases';
import { requireTrust } from '../../trust';
import type { EtcdFeature } from '../feature';
import type { EtcdNode } from '../tree';
import { keyUri } from '../uri';
import { pickCluster, pickKey, prefixOf } from './pick';

export async function putWithTtlCommand(feature: EtcdFeature, node?: EtcdNode): Promise<string | undefined> {
  if (!requireTrust('Writing an etcd key')) return undefined;
  const clusterName = await pickCluster(feature, node);
  if (!clusterName) return undefined;
  const cluster = await feature.registry.cluster(clusterName);
  const key = node?.type === 'key' ? node.path : await vscode.window.showInputBox({ title: 'Put with TTL (1/3)', prompt: 'Key', value: prefixOf(feature, node), ignoreFocusOut: true });
  if (!key) return undefined;
  const existing = (await getKey(cluster, key)).value;
  const value = await vscode.window.showInputBox({ title: 'Put with TTL (2/3)', prompt: 'Value', value: existing?.value.toString('utf8') ?? '', ignoreFocusOut: true });
  if (value === undefined) return undefined;
  const ttl = await vscode.window.showInputBox({ title: 'Put with TTL (3/3)', prompt: 'Time to live in seconds', value: '60', validateInput: (text) => (/^[1-9]\d*$/.test(text) ? undefined : 'A whole number of seconds ≥ 1') });
  if (!ttl) return undefined;
  const lease = await putWithTtl(cluster, key, Buffer.from(value), Number(ttl));
  feature.fs.fire({ type: vscode.FileChangeType.Changed, uri: keyUri(clusterName, key) });
  void vscode.window.showInformationMessage(`Wharf: ${key} expires in ${ttl} s unless kept alive (lease ${lease}).`);
  return lease;
}

async function leaseOf(feature: EtcdFeature, node?: EtcdNode) {
  const target = await pickKey(feature, node);
  if (!target) return undefined;
  const lease = await keyLease(target.cluster, target.key);
  if (!lease) throw new WharfError({ code: 'not-found', object: `etcd key ${target.key}`, cause: 'has no TTL (no lease)', remedy: 'Use "Put with TTL…" to give it one' });
  return { ...target, lease };
}

export async function showTtlCommand(feature: EtcdFeature, node?: EtcdNode): Promise<number | undefined> {
  const found = await leaseOf(feature, node);
  if (!found) return undefined;
  const { lease, key } = found;
  void vscode.window.showInformationMessage(`Wharf: ${key} has ${lease.ttl} s left of ${lease.grantedTtl} s (lease ${lease.id}, ${lease.keys.length} key${lease.keys.length === 1 ? '' : 's'} on it).`);
  return lease.ttl;
}

export async function keepAliveCommand(feature: EtcdFeature, node?: EtcdNode): Promise<number | undefined> {
  if (!requireTrust('Keeping an etcd lease alive')) return undefined;
  const found = await leaseOf(feature, node);
  if (!found) return undefined;
  const ttl = await keepAliveOnce(found.cluster, found.lease.id);
  void vscode.window.showInformationMessage(`Wharf: lease ${found.lease.id} renewed: ${ttl} s.`);
  return ttl;
}

export async function revokeLeaseCommand(feature: EtcdFeature, node?: EtcdNode, confirmed?: boolean): Promise<void> {
  if (!requireTrust('Revoking an etcd lease')) return;
  const found = await leaseOf(feature, node);
  if (!found) return;
  const { lease } = found;
  if (!confirmed) {
    const choice = await vscode.window.showWarningMessage(`Revoke lease ${lease.id}? Its ${lease.keys.length} key${lease.keys.length === 1 ? '' : 's'} will be deleted now.`, { modal: true, detail: lease.keys.slice(0, 10).join('\n') }, 'Revoke');
    if (choice !== 'Revoke') return;
  }
  await revokeLease(found.cluster, lease.id);
  for (const key of lease.keys) feature.fs.fire({ type: vscode.FileChangeType.Deleted, uri: keyUri(found.clusterName, key) });
}
