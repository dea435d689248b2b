/**
 * A sick cluster: members of the lab's three are killed and restarted. One down: reads and writes
 * go on. Two down: reads go on (serializable, marked stale), writes fail with `quorum-lost` naming
 * how many members answer. After a restart, writes resume. Members are always restarted in after().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { casPut, createKey, put } from '../../../src/engines/etcd/edit';
import { clusterHealth } from '../../../src/engines/etcd/health';
import { getKey, listLevel } from '../../../src/engines/etcd/keyspace';
import { killMember, labCluster, restartMember, retry, type LabCluster } from './support';

describe('etcd quorum on the lab cluster', () => {
  let lab: LabCluster;
  before(async () => {
    lab = await labCluster('quorum');
    await createKey(lab.cluster, `${lab.prefix}cfg`, Buffer.from('v1'));
  });
  after(async () => {
    if (lab) {
      for (const name of ['n2', 'n3']) await restartMember(lab.lab, name).catch((error) => console.error(`restart ${name}: ${error}`));
      await lab.cleanup();
    }
  });

  it('reports a healthy cluster: three members, one leader, raft term and index, db size', async () => {
    const health = await clusterHealth(lab.cluster);
    assert.equal(health.total, 3);
    assert.equal(health.answering, 3);
    assert.equal(health.hasQuorum, true);
    assert.equal(health.members.filter((member) => member.isLeader).length, 1);
    for (const member of health.members) {
      assert.ok(member.healthy, `${member.name}: ${member.error}`);
      assert.ok(Number(member.raftTerm) > 0 && Number(member.raftIndex) > 0 && (member.dbSize ?? 0) > 0);
    }
  });

  it('with one member killed, reads and writes go on', async () => {
    const { cluster, prefix } = lab;
    await killMember(lab.lab, 'n3');
    const opened = await retry(() => getKey(cluster, `${prefix}cfg`), 15_000);
    assert.equal(opened.value!.value.toString(), 'v1');
    await retry(() => casPut(cluster, `${prefix}cfg`, Buffer.from('v2'), opened.value!.modRevision), 15_000);
    const read = await getKey(cluster, `${prefix}cfg`);
    assert.equal(read.value!.value.toString(), 'v2');
    assert.equal(read.stale, false);
    const health = await clusterHealth(cluster);
    assert.equal(health.answering, 2);
    assert.equal(health.hasQuorum, true);
  });

  it('with two members killed, reads go on (marked stale) and writes fail with the quorum message', async () => {
    const { cluster, prefix } = lab;
    await killMember(lab.lab, 'n2');
    const read = await getKey(cluster, `${prefix}cfg`);
    assert.equal(read.value!.value.toString(), 'v2');
    assert.equal(read.stale, true, 'the read is marked possibly stale');
    const level = await listLevel(cluster, { prefix, separator: '/', limit: 10 });
    assert.deepEqual(level.entries.map((entry) => entry.name), ['cfg']);
    assert.equal(level.stale, true);
    await assert.rejects(put(cluster, `${prefix}cfg`, Buffer.from('v3')), (error: unknown) => {
      assert.ok(isWharfError(error, 'quorum-lost'), `expected quorum-lost, got ${error}`);
      assert.match(error.message, /lost quorum: 1 of 3 members answer, 2 are needed/);
      return true;
    });
    const health = await clusterHealth(cluster);
    assert.equal(health.answering, 1);
    assert.equal(health.hasQuorum, false);
  });

  it('after a restart, writes resume and nothing written before is lost', async () => {
    const { cluster, prefix } = lab;
    await restartMember(lab.lab, 'n2');
    await retry(() => put(cluster, `${prefix}cfg`, Buffer.from('v3')), 30_000, 500);
    const read = await retry(async () => {
      const result = await getKey(cluster, `${prefix}cfg`);
      if (result.stale) throw new Error('still stale');
      return result;
    }, 15_000);
    assert.equal(read.value!.value.toString(), 'v3');
    await restartMember(lab.lab, 'n3');
    const health = await retry(async () => {
      const result = await clusterHealth(cluster);
      if (result.answering !== 3) throw new Error(`${result.answering} answering`);
      return result;
    }, 15_000);
    assert.equal(health.hasQuorum, true);
  });
});
