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
  return cluster.read(`etcd prefix at ${key.toString()}`, ({ client, serializable, options }) =>
    client.kv.range({ key, range_end: rangeEnd, limit, keys_only: true, serializable, revision }, options),
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

/**
 * Why pieces: etcd 3.4 walks its whole index range to compute `count` on every range request, even
 * with `limit`. Jumping past a folder with one range [end of folder, end of prefix) therefore walks
 * every later key, once per folder (quadratic on big levels). Instead, the rest after a folder is
 * cut into pieces along its key's bytes (one piece per next byte near it, plus one piece for the
 * bytes beyond), and all pieces are asked at once in one read-only txn with a small limit: each
 * piece's count covers only itself, so the level walks each key about once, and empty pieces cost
 * next to nothing. A piece that has more keys is cut again after its last folder.
 */
interface Piece {
  /** First key (inclusive). */
  start: Buffer;
  /** Every key in the piece starts with `base`; the piece ends at prefixEnd(base). */
  base: Buffer;
}

/** Keys asked per piece: enough to finish small pieces, small enough not to ship folder insides. */
const PIECE_LIMIT = 8;
/** etcd's default --max-txn-ops; one cut fits one txn. */
const MAX_TXN_OPS = 128;
/** Next bytes given a piece of their own at each depth (the rest share one piece). */
const MAX_WINDOW = 32;

/** Cuts [start, prefixEnd(base)) into pieces along `start`'s bytes (`base` is a prefix of `start`). */
function cut(start: Buffer, base: Buffer): Piece[] {
  const pieces: Piece[] = [{ start, base: start }];
  const depths = start.length - base.length;
  const window = Math.max(0, Math.min(MAX_WINDOW, Math.floor((MAX_TXN_OPS - 1) / Math.max(depths, 1)) - 1));
  for (let depth = start.length - 1; depth >= base.length; depth--) {
    const parent = start.subarray(0, depth);
    const at = (byte: number) => Buffer.concat([parent, Buffer.from([byte])]);
    let byte = start[depth] + 1;
    for (; byte <= 0xff && byte <= start[depth] + window; byte++) pieces.push({ start: at(byte), base: at(byte) });
    if (byte <= 0xff) pieces.push({ start: at(byte), base: Buffer.from(parent) });
  }
  return pieces;
}

type RangeAnswer = { kvs: IKeyValue[]; more: boolean; revision: string };

/** Keys-only ranges for pieces: one range call for one piece, else read-only txns of ≤128 ranges. */
async function rangePieces(cluster: EtcdCluster, pieces: Piece[], limit: number): Promise<ReadResult<RangeAnswer[]>> {
  if (pieces.length === 1) {
    const result = await rangeKeys(cluster, pieces[0].start, prefixEnd(pieces[0].base), limit);
    return { value: [{ kvs: result.value.kvs, more: result.value.more, revision: result.value.header.revision }], stale: result.stale };
  }
  const chunks: Piece[][] = [];
  for (let index = 0; index < pieces.length; index += MAX_TXN_OPS) chunks.push(pieces.slice(index, index + MAX_TXN_OPS));
  const results = await Promise.all(
    chunks.map((chunk) =>
      cluster.read(`etcd prefix at ${chunk[0].start.toString()}`, ({ client, serializable, options }) =>
        client.kv.txn(
          { success: chunk.map((piece) => ({ request_range: { key: startKey(piece.start), range_end: prefixEnd(piece.base), limit, keys_only: true, serializable } })) },
          options,
        ),
      ),
    ),
  );
  const value = results.flatMap((result) => result.value.responses.map((op) => ({ kvs: op.response_range.kvs, more: op.response_range.more, revision: result.value.header.revision })));
  return { value, stale: results.some((result) => result.stale) };
}

/** One page of one tree level under `prefix`. */
export async function listLevel(cluster: EtcdCluster, options: LevelOptions): Promise<LevelPage> {
  const prefix = Buffer.from(options.prefix);
  const end = prefixEnd(prefix);
  const start: Buffer = options.cursor !== undefined ? Buffer.from(options.cursor, 'latin1') : prefix;
  const entries: LevelEntry[] = [];
  let lastFolder: string | undefined;
  let revision: string | undefined;
  let stale = false;
  // Ask for a little more than needed: folders dedupe many keys into one entry.
  const pageSize = Math.min(Math.max(options.limit, 50), 1000);

  /** Adds the pieces' entries in key order; returns the next start key once the page is full. */
  const scan = async (pieces: Piece[], limit: number): Promise<Buffer | undefined> => {
    const result = await rangePieces(cluster, pieces, limit);
    stale ||= result.stale;
    for (const [index, answer] of result.value.entries()) {
      revision ??= answer.revision;
      const pieceEnd = prefixEnd(pieces[index].base);
      let last: Buffer | undefined;
      for (const kv of answer.kvs) {
        const key = kv.key.toString();
        const rest = key.slice(options.prefix.length);
        const at = options.flat || !options.separator ? -1 : rest.indexOf(options.separator);
        if (at < 0) {
          entries.push({ kind: 'key', name: rest, path: key });
          lastFolder = undefined;
          last = keyAfter(kv.key);
        } else {
          const folder = options.prefix + rest.slice(0, at + options.separator.length);
          if (folder === lastFolder) continue;
          lastFolder = folder;
          entries.push({ kind: 'folder', name: rest.slice(0, at), path: folder });
          last = prefixEnd(folder);
        }
        if (entries.length >= options.limit) return last;
      }
      if (!answer.more || !last || !before(last, pieceEnd)) continue;
      // The piece holds more: after a key, keys follow (one more range); after a folder, cut.
      const next = lastFolder !== undefined ? await scan(cut(last, pieces[index].base), PIECE_LIMIT) : await scan([{ start: last, base: pieces[index].base }], pageSize);
      if (next) return next;
    }
    return undefined;
  };

  const next = await scan([{ start, base: prefix }], pageSize);
  const page = { entries, revision: revision ?? '0', stale };
  return next && before(next, end) ? { ...page, cursor: next.toString('latin1') } : page;
}

/** key < end, where an end of "\0" means the end of the keyspace. */
function before(key: Buffer, end: Buffer): boolean {
  return (end.length === 1 && end[0] === 0) || Buffer.compare(key, end) < 0;
}

/** How many keys start with `prefix` (count only; nothing is transferred). */
export async function countPrefix(cluster: EtcdCluster, prefix: string): Promise<ReadResult<number>> {
  const result = await cluster.read(`etcd prefix ${prefix}`, ({ client, serializable, options }) =>
    client.kv.range({ key: startKey(Buffer.from(prefix)), range_end: prefixEnd(prefix), count_only: true, serializable }, options),
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
  const result = await cluster.read(`etcd key ${key}`, ({ client, serializable, options }) =>
    client.kv.range({ key: Buffer.from(key), serializable, revision }, options),
  );
  const kv = result.value.kvs[0];
  return { value: kv ? toEntry(kv) : undefined, stale: result.stale, revision: result.value.header.revision };
}

/** Keys with values under a prefix, a page at a time (for export and the CLI's `get --prefix`). */
export async function* iterateValues(cluster: EtcdCluster, prefix: string, pageSize = 200, revision?: string): AsyncGenerator<KeyEntry> {
  let start: Buffer = Buffer.from(prefix);
  const end = prefixEnd(prefix);
  for (;;) {
    const result = await cluster.read(`etcd prefix ${prefix}`, ({ client, serializable, options }) =>
      client.kv.range({ key: startKey(start), range_end: end, limit: pageSize, serializable, revision }, options),
    );
    for (const kv of result.value.kvs) yield toEntry(kv);
    const kvs = result.value.kvs;
    if (!result.value.more || kvs.length === 0) return;
    // Pin later pages to the first page's revision: one consistent snapshot.
    revision ??= result.value.header.revision;
    start = keyAfter(kvs[kvs.length - 1].key);
  }
}
