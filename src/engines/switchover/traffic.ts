/**
 * Moving traffic between two backends through etcd and the proxy, the part a switchover and a
 * rollback share: put the target's key, wait until the proxy applied it AND serves it (probed
 * through the proxy), remove the source's key, wait until applied, drain.
 */
import { messageOf, throwIfCancelled, WharfError } from '../core/errors';
import type { EtcdCluster } from '../etcd/cluster';
import { getKey } from '../etcd/keyspace';
import { httpProbe, sleep } from './http';

/** Waits until the proxy's published applied revision reaches `revision`. */
export async function waitApplied(cluster: EtcdCluster, statusKey: string, revision: string, withinMs: number, log: (line: string) => void, signal?: AbortSignal): Promise<string> {
  const until = Date.now() + withinMs;
  let last = 'nothing published';
  for (;;) {
    throwIfCancelled(signal, 'switchover');
    try {
      const entry = (await getKey(cluster, statusKey)).value;
      if (entry) {
        const applied = entry.value.toString('utf8').trim();
        last = `applied revision ${applied}`;
        if (/^\d+$/.test(applied) && BigInt(applied) >= BigInt(revision)) {
          log(`proxy applied revision ${applied} (≥ ${revision})`);
          return applied;
        }
      }
    } catch (error) {
      last = `reading ${statusKey}: ${messageOf(error)}`;
    }
    if (Date.now() > until) {
      throw new WharfError({
        code: 'failed',
        object: `proxy status ${statusKey}`,
        cause: `the proxy did not apply revision ${revision} within ${withinMs} ms (${last})`,
        remedy: 'Check that `wharf confd` runs for this prefix and can reach the proxy',
      });
    }
    await sleep(100, signal);
  }
}

export interface ServedCheck {
  proxyUrl: string;
  path: string;
  /** Body the target answers directly; undefined when we cannot tell backends apart. */
  targetBody?: string;
  /** Require every answer to be the target's (after the source left) or at least one (while both serve). */
  mode: 'some' | 'all';
  withinMs: number;
}

/** Probes through the proxy: every answer must be 2xx; the target must show up (or be all that shows up). */
export async function waitServed(check: ServedCheck, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + check.withinMs;
  const url = `${check.proxyUrl}${check.path}`;
  let last = '';
  for (;;) {
    throwIfCancelled(signal, 'switchover');
    let ok = 0;
    let target = 0;
    const rounds = 8;
    for (let i = 0; i < rounds; i++) {
      try {
        const answer = await httpProbe(url, 3000, signal);
        if (answer.status >= 200 && answer.status < 300) ok++;
        else last = `GET ${check.path} through the proxy → ${answer.status}`;
        if (check.targetBody !== undefined && answer.body === check.targetBody) target++;
      } catch (error) {
        last = `GET ${check.path} through the proxy → ${messageOf(error)}`;
      }
    }
    const good = check.targetBody === undefined ? ok === rounds : ok === rounds && (check.mode === 'all' ? target === rounds : target > 0);
    if (good) {
      log(`through the proxy: ${ok}/${rounds} 2xx${check.targetBody === undefined ? '' : `, ${target}/${rounds} from the new backend`}`);
      return;
    }
    if (ok === rounds) last = `${target}/${rounds} answers from the expected backend`;
    if (Date.now() > until) {
      throw new WharfError({ code: 'failed', object: `proxy ${check.proxyUrl}`, cause: `does not serve the new backend as expected within ${check.withinMs} ms (${last})`, remedy: 'Check the proxy and `wharf confd` logs' });
    }
    await sleep(200, signal);
  }
}

/** The body a backend answers at `path`, to recognise it through the proxy. */
export async function bodyOf(address: string, path: string): Promise<string | undefined> {
  try {
    const answer = await httpProbe(`http://${address}${path}`, 3000);
    return answer.status >= 200 && answer.status < 300 ? answer.body : undefined;
  } catch {
    return undefined;
  }
}

export async function revisionAfterDelete(cluster: EtcdCluster, key: string): Promise<{ deleted: boolean; revision: string }> {
  const response = await cluster.write(`etcd key ${key}`, (options) => cluster.client.kv.deleteRange({ key: Buffer.from(key) }, options));
  return { deleted: Number(response.deleted) > 0, revision: response.header.revision };
}

export async function currentValue(cluster: EtcdCluster, key: string): Promise<string | undefined> {
  return (await getKey(cluster, key)).value?.value.toString('utf8').trim();
}
