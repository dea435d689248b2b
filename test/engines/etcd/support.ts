/** Shared by the etcd engine tests: the lab cluster, a prefix unique to each test, cleanup. */
import { randomBytes } from 'node:crypto';
import { ensureLab, killMember, restartMember, type LabEndpoints } from '../../lab/lab';
import { EtcdCluster, type ClusterOptions } from '../../../src/engines/etcd/cluster';
import { deletePrefix } from '../../../src/engines/etcd/edit';

export interface LabCluster {
  lab: LabEndpoints;
  cluster: EtcdCluster;
  prefix: string;
  cleanup(): Promise<void>;
}

/** Opens the lab's three-member cluster with a prefix of this test's own. */
export async function labCluster(name: string, options: ClusterOptions = {}): Promise<LabCluster> {
  const lab = (await ensureLab()).endpoints;
  if (lab.etcd.endpoints.length !== 3) throw new Error(`the lab's etcd has ${lab.etcd.endpoints.length} members; these tests need 3`);
  const cluster = await EtcdCluster.open({ name: 'lab', endpoints: lab.etcd.endpoints }, options);
  const prefix = `/wharf-test/${name}-${randomBytes(4).toString('hex')}/`;
  return {
    lab,
    cluster,
    prefix,
    async cleanup() {
      await retry(() => deletePrefix(cluster, prefix), 20_000).catch(() => undefined);
      cluster.close();
    },
  };
}

/** Writes `count` keys in transactions of 100, a few at a time. */
export async function fill(cluster: EtcdCluster, keys: (index: number) => string, count: number, value = Buffer.from('v')): Promise<void> {
  const batches: number[][] = [];
  for (let start = 0; start < count; start += 100) batches.push(Array.from({ length: Math.min(100, count - start) }, (_, offset) => start + offset));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      await cluster.client.kv.txn({ success: batch.map((index) => ({ request_put: { key: Buffer.from(keys(index)), value } })) });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

export async function retry<T>(fn: () => Promise<T>, withinMs: number, pauseMs = 300): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export { killMember, restartMember };
