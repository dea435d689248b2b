// The lab's Docker engines: "local" on a bridge of its own (so port publishing works without
// touching docker0), and "remote" inside the lab's network namespace behind sshd.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LabError } from './errors';
import { IN_NETNS } from './netns';
import { httpOk, labEnv, run, runOk, RunOptions, startDaemon, waitUntil } from './processes';

export const BRIDGE = 'wharf-br0';
export const BRIDGE_ADDR = '172.31.251.1/24';

export type EngineName = 'local' | 'remote';

export interface Engine {
  host: string;
  socket: string;
  pid: number;
}

export const enginePart = (which: EngineName) => `docker-${which}`;

const bridgeMarker = (root: string) => path.join(root, 'run', 'bridge.created');

export async function createBridge(root: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(bridgeMarker(root)), { recursive: true });
    await fs.writeFile(bridgeMarker(root), `${BRIDGE}\n`);
    if ((await run('ip', ['link', 'show', BRIDGE])).code !== 0) {
      await runOk('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    }
    await runOk('ip', ['addr', 'replace', BRIDGE_ADDR, 'dev', BRIDGE]);
    await runOk('ip', ['link', 'set', BRIDGE, 'up']);
  } catch (e) {
    throw new LabError('bridge', (e as Error).message, `run as root; remove a leftover with: ip link del ${BRIDGE}`);
  }
}

export async function removeBridge(root: string): Promise<string | undefined> {
  const created = await fs.stat(bridgeMarker(root)).then(() => true, () => false);
  if (!created) return undefined;
  let note: string | undefined;
  if ((await run('ip', ['link', 'show', BRIDGE])).code === 0) {
    const r = await run('ip', ['link', 'del', BRIDGE]);
    note = r.code === 0 ? `removed bridge ${BRIDGE}` : `could not remove bridge ${BRIDGE}: ${r.stderr.trim()}`;
  }
  await fs.rm(bridgeMarker(root), { force: true });
  return note;
}

export function engineDir(root: string, which: EngineName): string {
  return path.join(root, `docker-${which}`);
}

/** A tcp:// listener with `--tlsverify` beside the unix socket (the local engine). */
export interface EngineTlsListener {
  port: number;
  server: { ca: string; cert: string; key: string };
}

export async function startEngine(root: string, which: EngineName, tls?: EngineTlsListener): Promise<Engine> {
  const dir = engineDir(root, which);
  const socket = path.join(dir, 'docker.sock');
  const exec = path.join(dir, 'exec');
  // dockerd's managed containerd puts its socket under the exec root: unix sockets max out at 108 bytes.
  if (path.join(exec, 'containerd', 'containerd-debug.sock').length > 100) {
    throw new LabError(enginePart(which), `the lab root ${root} is too long for unix socket paths`, 'pass a shorter root');
  }
  await fs.mkdir(path.join(dir, 'data'), { recursive: true });
  await fs.mkdir(exec, { recursive: true });
  await fs.rm(socket, { force: true });
  // Our own (empty) daemon.json, so a user's /etc/docker/daemon.json cannot conflict with these flags.
  const config = path.join(dir, 'daemon.json');
  await fs.writeFile(config, '{}\n');
  const args = [
    '--config-file', config,
    '--storage-driver=vfs',
    '--host', `unix://${socket}`,
    '--data-root', path.join(dir, 'data'),
    '--exec-root', exec,
    '--pidfile', path.join(dir, 'docker.pid'),
    // Separate containerd namespaces, in case a system containerd gets shared.
    '--containerd-namespace', `wharf-lab-${which}`,
    '--containerd-plugins-namespace', `wharf-lab-${which}-plugins`,
    '--shutdown-timeout', '5',
  ];
  if (tls) args.push('--host', `tcp://127.0.0.1:${tls.port}`, '--tlsverify', '--tlscacert', tls.server.ca, '--tlscert', tls.server.cert, '--tlskey', tls.server.key);
  // Remote: no bridge, no iptables (the namespace has no outside network anyway).
  args.push(...(which === 'local' ? [`--bridge=${BRIDGE}`] : ['--bridge=none', '--iptables=false']));
  const spec =
    which === 'local'
      ? { cmd: 'dockerd', args }
      : { cmd: IN_NETNS[0], args: [...IN_NETNS.slice(1), 'dockerd', ...args] };
  const part = enginePart(which);
  const pid = await startDaemon(root, { part, ...spec, env: labEnv() });
  await waitUntil(() => httpOk({ socketPath: socket, path: '/_ping' }), { root, part, pid, timeoutMs: 60_000 });
  return { host: `unix://${socket}`, socket, pid };
}

/** Does the engine at this DOCKER_HOST answer? (unix sockets pinged directly; others via the CLI) */
export async function engineAnswers(host: string, certPath?: string): Promise<boolean> {
  if (host.startsWith('unix://')) return httpOk({ socketPath: host.slice('unix://'.length), path: '/_ping' });
  const tlsFlags = certPath ? ['--tlsverify', '--tlscacert', path.join(certPath, 'ca.pem'), '--tlscert', path.join(certPath, 'cert.pem'), '--tlskey', path.join(certPath, 'key.pem')] : [];
  const r = await run(dockerBinary(), [...tlsFlags, '-H', host, 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 }).catch(() => undefined);
  return r?.code === 0;
}

export function dockerBinary(): string {
  return process.env.WHARF_LAB_DOCKER ?? 'docker';
}

/**
 * Runs the docker CLI against one engine (never the caller's DOCKER_HOST or context).
 * Throws on a non-zero exit with the command and the end of its stderr.
 */
export async function dockerCli(host: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const env = labEnv({ DOCKER_CONFIG: process.env.DOCKER_CONFIG ?? path.join(process.env.HOME ?? '/root', '.docker') });
  return runOk(dockerBinary(), ['-H', host, ...args], { env, timeoutMs: 300_000, ...opts });
}
