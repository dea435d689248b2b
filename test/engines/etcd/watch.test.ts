/** Live watches against the lab cluster: nothing missed across a compaction, heartbeats advance the revision. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { casPut, createKey, deleteKey, put } from '../../../src/engines/etcd/edit';
import { getKey, iterateValues } from '../../../src/engines/etcd/keyspace';
import { PrefixMirror } from '../../../src/engines/etcd/watch';
import { labCluster, waitFor, type LabCluster } from './support';

async function snapshot(lab: LabCluster): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of iterateValues(lab.cluster, lab.prefix)) out[entry.key] = entry.value.toString();
  return out;
}

function mirrored(mirror: PrefixMirror): Record<string, string> {
  return Object.fromEntries([...mirror.values].map(([key, value]) => [key, value.toString()]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('etcd watch on the lab cluster', () => {
  let lab: LabCluster;
  let mirror: PrefixMirror | undefined;
  before(async () => {
    lab = await labCluster('watch');
  });
  after(async () => {
    mirror?.close();
    await lab?.cleanup();
  });

  it('follows puts and deletes made by another client', async () => {
    const { cluster, prefix } = lab;
    await createKey(cluster, `${prefix}a`, Buffer.from('1'));
    mirror = await PrefixMirror.start(cluster, prefix, { heartbeatMs: 300 });
    assert.deepEqual(mirrored(mirror), { [`${prefix}a`]: '1' });
    await put(cluster, `${prefix}b`, Buffer.from('2'));
    await deleteKey(cluster, `${prefix}a`);
    await waitFor(() => mirror!.values.size === 1 && mirror!.values.get(`${prefix}b`)?.toString() === '2', 10_000, 'the mirror to see b and not a');
  });

  it('stays correct when the revision it resumes from was compacted meanwhile (re-list, re-watch)', async () => {
    const { cluster, prefix } = lab;
    const watch = mirror!.watcher;
    const resyncsBefore = watch.resyncs;
    watch.suspend();
    // While the watch is away: changes, then a compaction past them.
    await put(cluster, `${prefix}c`, Buffer.from('3'));
    await deleteKey(cluster, `${prefix}b`);
    await put(cluster, `${prefix}d`, Buffer.from('4'));
    const head = await put(cluster, `${prefix}e`, Buffer.from('5'));
    await cluster.client.kv.compact({ revision: head.modRevision, physical: true });
    watch.resume();
    await waitFor(() => watch.resyncs > resyncsBefore, 10_000, 'the watch to notice the compaction');
    const expected = await snapshot(lab);
    await waitFor(() => JSON.stringify(mirrored(mirror!)) === JSON.stringify(expected), 10_000, 'the mirror to match etcd after the re-list');
    assert.deepEqual(mirrored(mirror!), expected);
    assert.deepEqual(Object.keys(expected).sort(), [`${prefix}c`, `${prefix}d`, `${prefix}e`]);
    // And it keeps following after the re-watch.
    await casPut(cluster, `${prefix}c`, Buffer.from('33'), (await getKey(cluster, `${prefix}c`)).value!.modRevision);
    await waitFor(() => mirror!.values.get(`${prefix}c`)?.toString() === '33', 10_000, 'the change after the re-watch');
  });

  it('stays correct through a compaction while the watch is live', async () => {
    const { cluster, prefix } = lab;
    const writes = Array.from({ length: 50 }, (_, index) => put(cluster, `${prefix}live/${index}`, Buffer.from(String(index))));
    const results = await Promise.all(writes);
    const last = results.map((result) => BigInt(result.modRevision)).reduce((a, b) => (a > b ? a : b));
    await cluster.client.kv.compact({ revision: String(last) });
    await deleteKey(cluster, `${prefix}live/7`);
    const expected = await snapshot(lab);
    await waitFor(() => JSON.stringify(mirrored(mirror!)) === JSON.stringify(expected), 10_000, 'the mirror to match etcd');
  });

  it('heartbeats move the known revision forward when nothing under the prefix changes', async () => {
    const { cluster, prefix } = lab;
    const watch = mirror!.watcher;
    const elsewhere = await put(cluster, `${prefix.slice(0, -1)}-elsewhere`, Buffer.from('x'));
    await waitFor(() => BigInt(watch.revision ?? 0) >= BigInt(elsewhere.modRevision), 10_000, 'a progress answer');
    await deleteKey(cluster, `${prefix.slice(0, -1)}-elsewhere`);
  });
});
