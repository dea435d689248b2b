// A three-member etcd cluster on loopback, plus kill/restart of one member for quorum tests.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EtcdMember, LabEndpoints, writeEndpointsFile } from './endpoints';
import { LabError } from './errors';
import { httpGet, isAlive, ownedBy, startDaemon, stopPid, waitUntil } from './processes';

export const ETCD_NAMES = ['n1', 'n2', 'n3'];
export const ETCD_TOKEN = 'wharf-lab';
export const etcdPart = (name: string) => `etcd-${name}`;

const clusterFile = (root: string) => path.join(root, 'etcd', 'cluster.json');

function memberArgs(m: EtcdMember, cluster: string, state: 'new' | 'existing'): string[] {
  return [
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-client-urls', m.clientUrl,
    '--advertise-client-urls', m.clientUrl,
    '--listen-peer-urls', m.peerUrl,
    '--initial-advertise-peer-urls', m.peerUrl,
    '--initial-cluster', cluster,
    '--initial-cluster-token', ETCD_TOKEN,
    '--initial-cluster-state', state,
  ];
}

const clusterOf = (members: EtcdMember[]) => members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

/** /health answers {"health":"true"} only when the member sees a leader and can serve reads. */
export async function memberHealthy(clientUrl: string): Promise<boolean> {
  try {
    const r = await httpGet({ url: `${clientUrl}/health` });
    return r.status === 200 && /"health"\s*:\s*"true"/.test(r.body);
  } catch {
    return false;
  }
}

export async function startCluster(root: string, ports: Record<string, number>): Promise<EtcdMember[]> {
  const members: EtcdMember[] = ETCD_NAMES.map((name) => ({
    name,
    clientUrl: `http://127.0.0.1:${ports[`${name}-client`]}`,
    peerUrl: `http://127.0.0.1:${ports[`${name}-peer`]}`,
    pid: 0,
    dataDir: path.join(root, 'etcd', name),
  }));
  const cluster = clusterOf(members);
  // The data keeps the peer URLs: with other ports it would never form a quorum again, so start clean.
  const previous = await fs.readFile(clusterFile(root), 'utf8').catch(() => '');
  if (previous.trim() !== cluster) {
    for (const m of members) await fs.rm(m.dataDir, { recursive: true, force: true });
  }
  await fs.mkdir(path.join(root, 'etcd'), { recursive: true });
  await fs.writeFile(clusterFile(root), cluster + '\n');
  for (const m of members) {
    const fresh = !(await fs.stat(path.join(m.dataDir, 'member')).then(() => true, () => false));
    m.pid = await startDaemon(root, { part: etcdPart(m.name), cmd: 'etcd', args: memberArgs(m, cluster, fresh ? 'new' : 'existing') });
  }
  // Members need each other to elect a leader: start all, then wait for all.
  await Promise.all(
    members.map((m) => waitUntil(() => memberHealthy(m.clientUrl), { root, part: etcdPart(m.name), pid: m.pid, timeoutMs: 60_000 })),
  );
  return members;
}

function member(e: LabEndpoints, name: string): EtcdMember {
  const m = e.etcd.members.find((x) => x.name === name);
  if (!m) throw new LabError(etcdPart(name), `no member named ${name}`, `use one of ${ETCD_NAMES.join(', ')}`);
  return m;
}

/** Kills one member (SIGKILL by default: a crash, not a clean leave). Its data stays. */
export async function killMember(e: LabEndpoints, name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const m = member(e, name);
  if (!(await isAlive(m.pid)) || !(await ownedBy(m.pid, e.root))) return;
  if (signal === 'SIGTERM') {
    await stopPid(m.pid);
    return;
  }
  process.kill(m.pid, signal);
  const until = Date.now() + 5000;
  while ((await isAlive(m.pid)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Starts a killed member again from its data and waits until it is healthy (which needs a
 * quorum). Updates the pid in the endpoints object and file.
 */
export async function restartMember(e: LabEndpoints, name: string): Promise<EtcdMember> {
  const m = member(e, name);
  if ((await isAlive(m.pid)) && (await ownedBy(m.pid, e.root))) return m;
  const part = etcdPart(name);
  m.pid = await startDaemon(e.root, { part, cmd: 'etcd', args: memberArgs(m, clusterOf(e.etcd.members), 'existing') });
  await waitUntil(() => memberHealthy(m.clientUrl), { root: e.root, part, pid: m.pid, timeoutMs: 30_000 });
  await writeEndpointsFile(e);
  return m;
}

