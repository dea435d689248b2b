/**
 * What a finished switchover leaves behind, kept in etcd beside the upstream keys
 * (`<status prefix>switchover/<app>`), so the editor, the CLI and another machine can all roll it
 * back. Newest first; its length is the retention count.
 */
import type Docker from 'dockerode';
import { messageOf } from '../core/errors';
import type { EtcdCluster } from '../etcd/cluster';
import { put } from '../etcd/edit';
import { getKey } from '../etcd/keyspace';

export interface Side {
  id: string;
  name: string;
  image: string;
  key: string;
  address: string;
}

export interface SwitchoverRecord {
  app: string;
  at: string;
  prefix: string;
  old: Side;
  new: Side;
}

export interface RecordDocument {
  app: string;
  history: SwitchoverRecord[];
}

export const recordKey = (statusPrefix: string, app: string) => `${statusPrefix}switchover/${app}`;

export async function readRecords(cluster: EtcdCluster, statusPrefix: string, app: string): Promise<RecordDocument> {
  const entry = (await getKey(cluster, recordKey(statusPrefix, app))).value;
  if (!entry) return { app, history: [] };
  try {
    const doc = JSON.parse(entry.value.toString('utf8')) as RecordDocument;
    return Array.isArray(doc.history) ? doc : { app, history: [] };
  } catch {
    return { app, history: [] };
  }
}

export async function writeRecords(cluster: EtcdCluster, statusPrefix: string, doc: RecordDocument): Promise<void> {
  await put(cluster, recordKey(statusPrefix, doc.app), Buffer.from(JSON.stringify(doc, null, 2)));
}

/**
 * Adds a record and removes the stopped containers that fall out of retention. Returns what it
 * removed. A container that runs again (someone started it) is never removed.
 */
export async function recordAndRetain(cluster: EtcdCluster, docker: Docker, statusPrefix: string, record: SwitchoverRecord, retention: number, log: (line: string) => void): Promise<string[]> {
  const doc = await readRecords(cluster, statusPrefix, record.app);
  doc.history.unshift(record);
  const dropped = doc.history.splice(retention);
  const removed: string[] = [];
  const keep = new Set(doc.history.flatMap((r) => [r.old.id, r.new.id]));
  for (const old of dropped.map((r) => r.old)) {
    if (keep.has(old.id) || old.id === record.new.id) continue;
    try {
      const info = await docker.getContainer(old.id).inspect();
      if (info.State.Running) {
        log(`kept ${old.name}: it is running`);
        continue;
      }
      await docker.getContainer(old.id).remove();
      removed.push(old.name);
      log(`removed ${old.name} (${old.image}): beyond retention ${retention}`);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) log(`could not remove ${old.name}: ${messageOf(error)}`);
    }
  }
  await writeRecords(cluster, statusPrefix, doc);
  log(`recorded: ${doc.history.length} switchover(s) kept for rollback (retention ${retention})`);
  return removed;
}
