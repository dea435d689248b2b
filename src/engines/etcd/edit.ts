/**
 * Writes that never silently overwrite: every change of an existing key is a transaction that
 * compares the key's mod_revision with the one the user saw. If someone else wrote in between,
 * nothing is written and the caller gets a `conflict` error carrying their value.
 */
import { CompareResult, CompareTarget, type ICompare, type IRequestOp, type ITxnResponse } from 'etcd3';
import { WharfError } from '../core/errors';
import type { EtcdCluster } from './cluster';
import { countPrefix, prefixEnd, toEntry, type KeyEntry } from './keyspace';

export class EtcdConflictError extends WharfError {
  constructor(
    readonly key: string,
    /** The value in etcd now; undefined when it was deleted. */
    readonly theirs: KeyEntry | undefined,
    action: string,
  ) {
    super({
      code: 'conflict',
      object: `etcd key ${key}`,
      cause: theirs
        ? `changed by someone else since you opened it (now at revision ${theirs.modRevision}); your ${action} was not written`
        : `deleted by someone else since you opened it; your ${action} was not written`,
      remedy: 'Compare their value with yours, then apply your change again on top of theirs',
    });
  }
}

/** etcd refuses requests over --max-request-bytes; say so before sending, not after a timeout. */
export function checkSize(cluster: EtcdCluster, key: string, value: Buffer): void {
  // The request carries the key, the value and a few bytes of framing.
  const size = Buffer.byteLength(key) + value.length + 64;
  if (size > cluster.maxRequestBytes) {
    throw new WharfError({
      code: 'bad-input',
      object: `etcd key ${key}`,
      cause: `the value is ${value.length} bytes; cluster ${cluster.name} accepts requests up to ${cluster.maxRequestBytes} bytes`,
      remedy: 'Store large content elsewhere (a registry, a file) and keep a reference in etcd, or raise --max-request-bytes on every member',
    });
  }
}

const modEquals = (key: string, modRevision: string): ICompare => ({
  key: Buffer.from(key),
  target: CompareTarget.Mod,
  result: CompareResult.Equal,
  mod_revision: modRevision,
});

async function txn(cluster: EtcdCluster, object: string, compare: ICompare[], success: IRequestOp[], failure: IRequestOp[]): Promise<ITxnResponse> {
  return cluster.write(object, (options) => cluster.client.kv.txn({ compare, success, failure }, options));
}

function theirsFrom(response: ITxnResponse): KeyEntry | undefined {
  const kv = response.responses?.[0]?.response_range?.kvs?.[0];
  return kv ? toEntry(kv) : undefined;
}

export interface PutResult {
  modRevision: string;
}

/**
 * Compare-and-swap: writes `value` only if the key's mod_revision is still `expected`
 * ('0' = the key must not exist). Keeps `lease` when given (so editing a TTL'd key keeps its TTL).
 */
export async function casPut(cluster: EtcdCluster, key: string, value: Buffer, expected: string, lease?: string): Promise<PutResult> {
  checkSize(cluster, key, value);
  const response = await txn(
    cluster,
    `etcd key ${key}`,
    [modEquals(key, expected)],
    [{ request_put: { key: Buffer.from(key), value, lease: lease && lease !== '0' ? lease : undefined } }],
    [{ request_range: { key: Buffer.from(key) } }],
  );
  if (!response.succeeded) {
    const theirs = theirsFrom(response);
    // A retried transaction that had in fact been applied shows our own value: not a conflict.
    if (theirs && theirs.value.equals(value)) return { modRevision: theirs.modRevision };
    throw new EtcdConflictError(key, theirs, expected === '0' ? 'create' : 'save');
  }
  return { modRevision: response.header.revision };
}

/** Creates a key that must not exist yet. */
export async function createKey(cluster: EtcdCluster, key: string, value: Buffer, lease?: string): Promise<PutResult> {
  try {
    return await casPut(cluster, key, value, '0', lease);
  } catch (error) {
    if (error instanceof EtcdConflictError) {
      throw new WharfError({ code: 'conflict', object: `etcd key ${key}`, cause: 'already exists', remedy: 'Open it and edit it, or choose another name' });
    }
    throw error;
  }
}

/** A plain put (the CLI's `put`): last writer wins, like etcdctl. */
export async function put(cluster: EtcdCluster, key: string, value: Buffer, lease?: string): Promise<PutResult> {
  checkSize(cluster, key, value);
  const response = await cluster.write(`etcd key ${key}`, (options) => cluster.client.kv.put({ key: Buffer.from(key), value, lease }, options));
  return { modRevision: response.header.revision };
}

/** Deletes a key, only if it is still at `expected` when given. */
export async function deleteKey(cluster: EtcdCluster, key: string, expected?: string): Promise<boolean> {
  if (expected === undefined) {
    const response = await cluster.write(`etcd key ${key}`, (options) => cluster.client.kv.deleteRange({ key: Buffer.from(key) }, options));
    return Number(response.deleted) > 0;
  }
  const response = await txn(cluster, `etcd key ${key}`, [modEquals(key, expected)], [{ request_delete_range: { key: Buffer.from(key) } }], [{ request_range: { key: Buffer.from(key) } }]);
  if (!response.succeeded) throw new EtcdConflictError(key, theirsFrom(response), 'delete');
  return true;
}

/** How many keys a prefix delete would remove (for the confirmation). */
export async function countForDelete(cluster: EtcdCluster, prefix: string): Promise<number> {
  return (await countPrefix(cluster, prefix)).value;
}

export async function deletePrefix(cluster: EtcdCluster, prefix: string): Promise<number> {
  if (!prefix) {
    throw new WharfError({ code: 'bad-input', object: 'etcd prefix', cause: 'an empty prefix would delete the whole keyspace', remedy: 'Name a prefix' });
  }
  const response = await cluster.write(`etcd prefix ${prefix}`, (options) =>
    cluster.client.kv.deleteRange({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }, options),
  );
  return Number(response.deleted);
}

/**
 * Rename = copy and delete in one transaction: the source must be unchanged since `source` was
 * read and the target must not exist, or nothing happens. The lease goes along.
 */
export async function renameKey(cluster: EtcdCluster, source: KeyEntry, target: string): Promise<PutResult> {
  checkSize(cluster, target, source.value);
  const response = await txn(
    cluster,
    `etcd key ${source.key}`,
    [modEquals(source.key, source.modRevision), { key: Buffer.from(target), target: CompareTarget.Create, result: CompareResult.Equal, create_revision: '0' }],
    [
      { request_put: { key: Buffer.from(target), value: source.value, lease: source.lease !== '0' ? source.lease : undefined } },
      { request_delete_range: { key: Buffer.from(source.key) } },
    ],
    [{ request_range: { key: Buffer.from(source.key) } }, { request_range: { key: Buffer.from(target), count_only: true } }],
  );
  if (!response.succeeded) {
    const targetExists = Number(response.responses?.[1]?.response_range?.count ?? 0) > 0;
    if (targetExists) {
      throw new WharfError({ code: 'conflict', object: `etcd key ${target}`, cause: 'already exists; nothing was renamed', remedy: 'Choose another name or delete that key first' });
    }
    throw new EtcdConflictError(source.key, theirsFrom(response), 'rename');
  }
  return { modRevision: response.header.revision };
}
