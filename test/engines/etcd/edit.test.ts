/** Safe edits against the lab cluster: compare-and-swap, binary values, size limit, rename, history, leases, import/export. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { casPut, createKey, deleteKey, EtcdConflictError, renameKey } from '../../../src/engines/etcd/edit';
import { keyHistory, restoreVersion } from '../../../src/engines/etcd/history';
import { getKey, countPrefix } from '../../../src/engines/etcd/keyspace';
import { keepAliveOnce, keyLease, putWithTtl, revokeLease } from '../../../src/engines/etcd/leases';
import { exportPrefix, importDocument, parseExport } from '../../../src/engines/etcd/transfer';
import { detectKind } from '../../../src/engines/etcd/values';
import { labCluster, type LabCluster } from './support';

describe('etcd edits on the lab cluster', () => {
  let lab: LabCluster;
  before(async () => {
    lab = await labCluster('edit');
  });
  after(async () => {
    await lab?.cleanup();
  });

  it('refuses a save that races a concurrent change, and loses neither value', async () => {
    const { cluster, prefix } = lab;
    const key = `${prefix}app/config.json`;
    await createKey(cluster, key, Buffer.from('{"replicas":1}'));
    const opened = (await getKey(cluster, key)).value!;
    // Someone else writes after we opened the key...
    await casPut(cluster, key, Buffer.from('{"replicas":2}'), opened.modRevision);
    // ...so our save, based on what we saw, must be refused.
    await assert.rejects(casPut(cluster, key, Buffer.from('{"replicas":3}'), opened.modRevision), (error: unknown) => {
      assert.ok(error instanceof EtcdConflictError);
      assert.equal(error.code, 'conflict');
      assert.equal(error.theirs?.value.toString(), '{"replicas":2}');
      assert.match(error.message, /changed by someone else/);
      return true;
    });
    const now = (await getKey(cluster, key)).value!;
    assert.equal(now.value.toString(), '{"replicas":2}', 'their value is intact');
    // Saving again on top of theirs works.
    await casPut(cluster, key, Buffer.from('{"replicas":3}'), now.modRevision);
    assert.equal((await getKey(cluster, key)).value!.value.toString(), '{"replicas":3}');
  });

  it('refuses to save over a key deleted meanwhile', async () => {
    const { cluster, prefix } = lab;
    const key = `${prefix}gone`;
    await createKey(cluster, key, Buffer.from('x'));
    const opened = (await getKey(cluster, key)).value!;
    await deleteKey(cluster, key);
    await assert.rejects(casPut(cluster, key, Buffer.from('y'), opened.modRevision), (error: unknown) => error instanceof EtcdConflictError && error.theirs === undefined);
    assert.equal((await getKey(cluster, key)).value, undefined);
  });

  it('keeps a binary value byte for byte through put, get, export and import', async () => {
    const { cluster, prefix } = lab;
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    const key = `${prefix}bin/blob`;
    await createKey(cluster, key, bytes);
    const read = (await getKey(cluster, key)).value!;
    assert.ok(read.value.equals(bytes));
    assert.equal(detectKind(read.value), 'binary');
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    assert.equal(await exportPrefix(cluster, `${prefix}bin/`, out), 1);
    const document = parseExport(Buffer.concat(chunks).toString());
    assert.ok(document.keys[0].valueBase64, 'binary exported as base64');
    assert.equal(await importDocument(cluster, document, { targetPrefix: `${prefix}bin-copy/` }), 1);
    assert.ok((await getKey(cluster, `${prefix}bin-copy/blob`)).value!.value.equals(bytes));
  });

  it('refuses a value over the request limit before sending it', async () => {
    const { cluster, prefix } = lab;
    const key = `${prefix}big`;
    const big = Buffer.alloc(cluster.maxRequestBytes + 1, 'a');
    await assert.rejects(createKey(cluster, key, big), (error: unknown) => isWharfError(error, 'bad-input') && /accepts requests up to 1572864 bytes/.test(error.message));
    assert.equal((await getKey(cluster, key)).value, undefined);
  });

  it('renames in one transaction and refuses to overwrite the target', async () => {
    const { cluster, prefix } = lab;
    await createKey(cluster, `${prefix}r/a`, Buffer.from('A'));
    await createKey(cluster, `${prefix}r/b`, Buffer.from('B'));
    const a = (await getKey(cluster, `${prefix}r/a`)).value!;
    await assert.rejects(renameKey(cluster, a, `${prefix}r/b`), (error: unknown) => isWharfError(error, 'conflict') && /already exists/.test(error.message));
    assert.equal((await getKey(cluster, `${prefix}r/a`)).value!.value.toString(), 'A');
    await renameKey(cluster, a, `${prefix}r/c`);
    assert.equal((await getKey(cluster, `${prefix}r/a`)).value, undefined);
    assert.equal((await getKey(cluster, `${prefix}r/c`)).value!.value.toString(), 'A');
    assert.equal((await countPrefix(cluster, `${prefix}r/`)).value, 2);
  });

  it('lists earlier revisions and restores one as a compare-and-swap', async () => {
    const { cluster, prefix } = lab;
    const key = `${prefix}h`;
    await createKey(cluster, key, Buffer.from('one'));
    for (const value of ['two', 'three']) await casPut(cluster, key, Buffer.from(value), (await getKey(cluster, key)).value!.modRevision);
    const history = await keyHistory(cluster, key);
    assert.deepEqual(history.versions.map((entry) => entry.value.toString()), ['three', 'two', 'one']);
    const current = history.versions[0];
    await restoreVersion(cluster, key, history.versions[2], current.modRevision);
    assert.equal((await getKey(cluster, key)).value!.value.toString(), 'one');
    // A restore based on a stale revision is refused.
    await assert.rejects(restoreVersion(cluster, key, history.versions[1], current.modRevision), EtcdConflictError);
  });

  it('puts with a TTL, shows it, keeps it alive and revokes it', async () => {
    const { cluster, prefix } = lab;
    const key = `${prefix}ttl`;
    const lease = await putWithTtl(cluster, key, Buffer.from('alive'), 60);
    const info = await keyLease(cluster, key);
    assert.equal(info?.id, lease);
    assert.ok(info!.ttl > 0 && info!.ttl <= 60);
    assert.deepEqual(info!.keys, [key]);
    assert.equal(await keepAliveOnce(cluster, lease), 60);
    // Editing a TTL'd key keeps its lease.
    await casPut(cluster, key, Buffer.from('edited'), (await getKey(cluster, key)).value!.modRevision, lease);
    assert.equal((await getKey(cluster, key)).value!.lease, lease);
    await revokeLease(cluster, lease);
    assert.equal((await getKey(cluster, key)).value, undefined, 'revoking deletes the key');
  });
});
