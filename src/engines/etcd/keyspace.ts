/**
 * Listing a keyspace without loading it: keys only (no values), in pages of `limit`, each page
 * continuing from the last key + "\0". A tree level is built lazily: keys under a deeper folder
 * collapse into one folder entry and the listing jumps past the rest of that folder, so a level
 * with a few folders over 100,000 keys costs a few round trips, not 100,000 keys.
 */
import type { IKeyValue } from 'etcd3';
import type { EtcdCluster, ReadResult } from './cluster';

const ZERO = Buffer.from([0]);

/** The range end that covers every key starting with `prefix` (etcd's "prefix + 1"). */
export function prefixEnd(prefix: Buffer | string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let index = bytes.length - 1; index >= 0; index--) {
    if (bytes[index] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, index + 1));
      end[index]++;
      return end;
    }
  }
  return ZERO; // empty prefix or all 0xff: every key to the end
}

/** The first key after `key` in etcd's order. */
export function keyAfter(key: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(key), ZERO]);
}

export interface KeyPage {
  keys: string[];
  /** Start key (inclusive) of the next page; absent on the last page. */
  cursor?: string;
  revision: string;
  stale: boolean;
}

export interface ListOptions {
  prefix: string;
  limit: number;
  /** From a previous page. */
  cursor?: string;
  /** Read the keyspace as of this revision. */
  revision?: string;
}

export async function listKeys(cluster: EtcdCluster, options: ListOptions): Promise<KeyPage> {
  const start = options.cursor !== undefined ? Buffer.from(options.cursor, 'latin1') : Buffer.from(options.prefix);
  const result = await rangeKeys(cluster, start, prefixEnd(options.prefix), options.limit, options.revision);
  const kvs = result.value.kvs;
  const last = kvs[kvs.length - 1];
  return {
    keys: kvs.map((kv) => kv.key.toString()),
    cursor: result.value.more && last ? keyAfter(last.key).toString('latin1') : undefined,
    revision: result.value.header.revision,
    stale: result.stale,
  };
}

/** etcd rejects an empty key: the whole keyspace starts at "\0". */
function startKey(key: Buffer): Buffer {
  return key.length ? key : ZERO;
}

async function rangeKeys(cluster: EtcdCluster, key: Buffer, rangeEnd: Buffer, limit: number, revision?: string) {
  key = startKey(key);
  return cluster.read(`etcd prefix at ${key.toString()}`, ({ serializable, options }) =>
    cluster.client.kv.range({ key, range_end: rangeEnd, limit, keys_only: true, serializable, revision }, options),
  );
}

export interface LevelEntry {
  kind: 'folder' | 'key';
  /** The segment shown in the tree. */
  name: string;
  /** A key's full name, or a folder's prefix ending with the separator. */
  path: string;
}

export interface LevelPage {
  entries: LevelEntry[];
  /** Opaque (latin1 bytes of the next start key); absent when the level is complete. */
  cursor?: string;
  revision: string;
  stale: boolean;
}

export interface LevelOptions {
  prefix: string;
  separator: string;
  /** Entries wanted in this page. */
  limit: number;
  cursor?: string;
  /** Flat: every key under the prefix, no folders. */
  flat?: boolean;
}

/** One page of one tree level under `prefix`. */
export async function listLevel(cluster: EtcdCluster, options: LevelOptions): Promise<LevelPage> {
  const prefix = Buffer.from(options.prefix);
  const end = prefixEnd(prefix);
  let start: Buffer = options.cursor !== undefined ? Buffer.from(options.cursor, 'latin1') : prefix;
  const entries: LevelEntry[] = [];
  let lastFolder: string | undefined;
  let revision = '0';
  let stale = false;
  // Ask for a little more than needed: folders dedupe many keys into one entry.
  const pageSize = Math.min(Math.max(options.limit, 50), 1000);
  for (;;) {
    const result = await rangeKeys(cluster, start, end, pageSize);
    revision = result.value.header.revision;
    stale ||= result.stale;
    const kvs: IKeyValue[] = result.value.kvs;
    if (kvs.length === 0) return { entries, revision, stale };
    for (const kv of kvs) {
      const key = kv.key.toString();
      const rest = key.slice(options.prefix.length);
      const at = options.flat || !options.separator ? -1 : rest.indexOf(options.separator);
      if (at < 0) {
        entries.push({ kind: 'key', name: rest, path: key });
        lastFolder = undefined;
        if (entries.length >= options.limit) return more(keyAfter(kv.key), entries, revision, stale, end);
      } else {
        const folder = options.prefix + rest.slice(0, at + options.separator.length);
        if (folder === lastFolder) continue;
        lastFolder = folder;
        entries.push({ kind: 'folder', name: rest.slice(0, at), path: folder });
        if (entries.length >= options.limit) return more(prefixEnd(folder), entries, revision, stale, end);
      }
    }
    if (!result.value.more) return { entries, revision, stale };
    const last = kvs[kvs.length - 1].key;
    // Past the rest of the folder the page ended in, or just past the last key.
    start = lastFolder !== undefined ? prefixEnd(lastFolder) : keyAfter(last);
    if (end.length && !(end.length === 1 && end[0] === 0) && Buffer.compare(start, end) >= 0) return { entries, revision, stale };
  }
}

function more(next: Buffer, entries: LevelEntry[], revision: string, stale: boolean, end: Buffer): LevelPage {
  const done = !(end.length === 1 && end[0] === 0) && Buffer.compare(next, end) >= 0;
  return { entries, revision, stale, cursor: done ? undefined : next.toString('latin1') };
}

/** How many keys start with `prefix` (count only; nothing is transferred). */
export async function countPrefix(cluster: EtcdCluster, prefix: string): Promise<ReadResult<number>> {
  const result = await cluster.read(`etcd prefix ${prefix}`, ({ serializable, options }) =>
    cluster.client.kv.range({ key: startKey(Buffer.from(prefix)), range_end: prefixEnd(prefix), count_only: true, serializable }, options),
  );
  return { value: Number(result.value.count), stale: result.stale };
}

export interface KeyEntry {
  key: string;
  value: Buffer;
  createRevision: string;
  modRevision: string;
  version: string;
  lease: string;
}

export function toEntry(kv: IKeyValue): KeyEntry {
  return { key: kv.key.toString(), value: kv.value, createRevision: kv.create_revision, modRevision: kv.mod_revision, version: kv.version, lease: kv.lease };
}

/** One key with its value and revisions; undefined when it does not exist. */
export async function getKey(cluster: EtcdCluster, key: string, revision?: string): Promise<ReadResult<KeyEntry | undefined> & { revision: string }> {
  const result = await cluster.read(`etcd key ${key}`, ({ serializable, options }) =>
    cluster.client.kv.range({ key: Buffer.from(key), serializable, revision }, options),
  );
  const kv = result.value.kvs[0];
  return { value: kv ? toEntry(kv) : undefined, stale: result.stale, revision: result.value.header.revision };
}

/** Keys with values under a prefix, a page at a time (for export and the CLI's `get --prefix`). */
export async function* iterateValues(cluster: EtcdCluster, prefix: string, pageSize = 200, revision?: string): AsyncGenerator<KeyEntry> {
  let start: Buffer = Buffer.from(prefix);
  const end = prefixEnd(prefix);
  for (;;) {
    const result = await cluster.read(`etcd prefix ${prefix}`, ({ serializable, options }) =>
      cluster.client.kv.range({ key: startKey(start), range_end: end, limit: pageSize, serializable, revision }, options),
    );
    for (const kv of result.value.kvs) yield toEntry(kv);
    const kvs = result.value.kvs;
    if (!result.value.more || kvs.length === 0) return;
    // Pin later pages to the first page's revision: one consistent snapshot.
    revision ??= result.value.header.revision;
    start = keyAfter(kvs[kvs.length - 1].key);
  }
}
