/** Keys with a time to live: put with a new lease, read the remaining TTL, keep alive, revoke. */
import { WharfError } from '../core/errors';
import type { EtcdCluster } from './cluster';
import { checkSize } from './edit';
import { etcdError } from './errors';
import { getKey } from './keyspace';

export interface LeaseInfo {
  id: string;
  /** Seconds left; -1 when the lease has expired or was revoked. */
  ttl: number;
  grantedTtl: number;
  keys: string[];
}

/** Grants a lease of `ttlSeconds` and puts the key on it. Returns the lease id. */
export async function putWithTtl(cluster: EtcdCluster, key: string, value: Buffer, ttlSeconds: number): Promise<string> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new WharfError({ code: 'bad-input', object: `TTL ${ttlSeconds}`, cause: 'not a whole number of seconds ≥ 1' });
  }
  checkSize(cluster, key, value);
  const grant = await cluster.write(`lease for ${key}`, (options) => cluster.client.leaseClient.leaseGrant({ TTL: ttlSeconds }, options));
  await cluster.write(`etcd key ${key}`, (options) => cluster.client.kv.put({ key: Buffer.from(key), value, lease: grant.ID }, options));
  return grant.ID;
}

export async function leaseInfo(cluster: EtcdCluster, leaseId: string): Promise<LeaseInfo> {
  try {
    const response = await cluster.client.leaseClient.leaseTimeToLive({ ID: leaseId, keys: true }, cluster.deadline(cluster.readTimeoutMs));
    return { id: leaseId, ttl: Number(response.TTL), grantedTtl: Number(response.grantedTTL), keys: (response.keys ?? []).map((key) => Buffer.from(key).toString()) };
  } catch (error) {
    throw etcdError(error, `lease ${leaseId}`);
  }
}

/** The lease of a key, or undefined when the key has none. */
export async function keyLease(cluster: EtcdCluster, key: string): Promise<LeaseInfo | undefined> {
  const entry = (await getKey(cluster, key)).value;
  if (!entry) throw new WharfError({ code: 'not-found', object: `etcd key ${key}`, cause: 'does not exist (or its lease expired)' });
  if (!entry.lease || entry.lease === '0') return undefined;
  return leaseInfo(cluster, entry.lease);
}

/** One keep-alive round trip; returns the renewed TTL. */
export async function keepAliveOnce(cluster: EtcdCluster, leaseId: string): Promise<number> {
  const stream = await cluster.client.leaseClient.leaseKeepAlive(cluster.deadline(cluster.writeTimeoutMs));
  try {
    return await new Promise<number>((resolve, reject) => {
      stream.on('data', (response) => resolve(Number(response.TTL)));
      stream.on('error', (error) => reject(etcdError(error, `lease ${leaseId}`)));
      stream.on('end', () => reject(new WharfError({ code: 'failed', object: `lease ${leaseId}`, cause: 'keep-alive stream ended without an answer' })));
      stream.write({ ID: leaseId });
    }).then((ttl) => {
      if (ttl <= 0) throw new WharfError({ code: 'not-found', object: `lease ${leaseId}`, cause: 'has expired or was revoked', remedy: 'Put the key again with a TTL' });
      return ttl;
    });
  } finally {
    stream.end();
  }
}

export async function revokeLease(cluster: EtcdCluster, leaseId: string): Promise<void> {
  await cluster.write(`lease ${leaseId}`, (options) => cluster.client.leaseClient.leaseRevoke({ ID: leaseId }, options));
}
