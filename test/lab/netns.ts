// The "remote host": a network namespace of the lab's own, joined to this host by a veth pair.
// Nothing reaches it except over that link, and `tc` on the link makes a real slow connection.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LabError } from './errors';
import { run, runOk } from './processes';

export const NETNS = 'wharf-lab';
export const VETH_HOST = 'wharf-veth0';
export const VETH_NS = 'wharf-veth1';
export const HOST_ADDR = '10.99.0.1';
export const NS_ADDR = '10.99.0.2';

/**
 * Prefix that runs a command inside the namespace. nsenter enters only the network namespace;
 * `ip netns exec` would also remount /sys and hide the cgroup mounts dockerd needs. Both exec, so
 * the pid we spawn is the daemon's own.
 */
export const IN_NETNS = ['nsenter', `--net=/run/netns/${NETNS}`, '--'];

const marker = (root: string) => path.join(root, 'run', 'netns.created');

async function netnsExists(): Promise<boolean> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === NETNS);
}

async function linkExists(name: string, ns?: string): Promise<boolean> {
  const args = ns ? ['-n', ns, 'link', 'show', name] : ['link', 'show', name];
  return (await run('ip', args)).code === 0;
}

export async function createNetns(root: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(marker(root)), { recursive: true });
    await fs.writeFile(marker(root), `${NETNS} ${VETH_HOST}\n`);
    if (!(await netnsExists())) await runOk('ip', ['netns', 'add', NETNS]);
    if (!(await linkExists(VETH_HOST))) {
      await runOk('ip', ['link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS, 'netns', NETNS]);
    }
    await runOk('ip', ['addr', 'replace', `${HOST_ADDR}/24`, 'dev', VETH_HOST]);
    await runOk('ip', ['link', 'set', VETH_HOST, 'up']);
    await runOk('ip', ['-n', NETNS, 'addr', 'replace', `${NS_ADDR}/24`, 'dev', VETH_NS]);
    await runOk('ip', ['-n', NETNS, 'link', 'set', VETH_NS, 'up']);
    await runOk('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    throw new LabError('netns', (e as Error).message, `run as root with iproute2; remove leftovers with: ip netns del ${NETNS}; ip link del ${VETH_HOST}`);
  }
}

/** Deletes the namespace (its end of the veth goes with it, and so the host end). */
export async function removeNetns(root: string): Promise<string[]> {
  const notes: string[] = [];
  const created = await fs.stat(marker(root)).then(() => true, () => false);
  if (!created) return notes;
  if (await netnsExists()) {
    const pids = (await run('ip', ['netns', 'pids', NETNS])).stdout.trim();
    if (pids) notes.push(`netns ${NETNS} still had processes ${pids.split('\n').join(',')}`);
    const r = await run('ip', ['netns', 'del', NETNS]);
    notes.push(r.code === 0 ? `removed netns ${NETNS}` : `could not remove netns ${NETNS}: ${r.stderr.trim()}`);
  }
  if (await linkExists(VETH_HOST)) await run('ip', ['link', 'del', VETH_HOST]);
  await fs.rm(marker(root), { force: true });
  return notes;
}

/** Processes still inside the namespace (children our daemons left behind). */
export async function netnsPids(): Promise<number[]> {
  if (!(await netnsExists())) return [];
  const out = (await run('ip', ['netns', 'pids', NETNS])).stdout;
  return out.split('\n').map((s) => Number.parseInt(s, 10)).filter((n) => Number.isInteger(n));
}

/**
 * Shapes both directions of the link (host→remote on the host end, remote→host inside the
 * namespace) with a token bucket; undefined removes the shaping.
 */
export async function setSlowLink(rate: string | undefined): Promise<void> {
  const sides: string[][] = [[...IN_NETNS, 'tc'], ['tc']];
  const devs = [VETH_NS, VETH_HOST];
  for (let i = 0; i < sides.length; i++) {
    const [cmd, ...pre] = sides[i];
    await run(cmd, [...pre, 'qdisc', 'del', 'dev', devs[i], 'root']); // absent is fine
    if (rate) {
      try {
        await runOk(cmd, [...pre, 'qdisc', 'add', 'dev', devs[i], 'root', 'tbf', 'rate', rate, 'burst', '32kbit', 'latency', '50ms']);
      } catch (e) {
        throw new LabError('slow-link', (e as Error).message, 'give a tc rate such as 10mbit or 512kbit');
      }
    }
  }
}
