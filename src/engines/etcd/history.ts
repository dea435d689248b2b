/**
 * Earlier values of one key, newest first, while etcd still has them (until compaction). Each
 * step reads the key as of (its mod_revision - 1), which yields the version before it.
 * Restoring an old value is an ordinary compare-and-swap write against the current revision.
 */
import { WharfError } from '../core/errors';
import type { EtcdCluster } from './cluster';
import { casPut, type PutResult } from './edit';
import { isCompacted } from './errors';
import { getKey, type KeyEntry } from './keyspace';

export interface HistoryResult {
  /** Newest first; the first is the current value. */
  versions: KeyEntry[];
  /** True when older versions exist but were compacted away. */
  truncatedByCompaction: boolean;
}

export async function keyHistory(cluster: EtcdCluster, key: string, max = 50): Promise<HistoryResult> {
  const current = (await getKey(cluster, key)).value;
  if (!current) throw new WharfError({ code: 'not-found', object: `etcd key ${key}`, cause: 'does not exist', remedy: 'Refresh the tree' });
  const versions: KeyEntry[] = [current];
  let entry = current;
  while (versions.length < max && Number(entry.version) > 1) {
    try {
      const older = (await getKey(cluster, key, String(BigInt(entry.modRevision) - 1n))).value;
      if (!older || older.modRevision === entry.modRevision) break;
      versions.push(older);
      entry = older;
    } catch (error) {
      if (isCompacted(error) || isCompacted((error as WharfError).inner)) return { versions, truncatedByCompaction: true };
      throw error;
    }
  }
  return { versions, truncatedByCompaction: false };
}

/** Writes an old value back, only if the key is still at `currentModRevision`. */
export async function restoreVersion(cluster: EtcdCluster, key: string, old: KeyEntry, currentModRevision: string, lease?: string): Promise<PutResult> {
  return casPut(cluster, key, old.value, currentModRevision, lease);
}
