// The lab's public API: start, stop, read and check the real servers tests run against.
// Every daemon is started detached with a pid file under <root>/run and a log under <root>/logs,
// so any later process (a test run, the CLI) can find, check and stop exactly what was started.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BRIDGE, createBridge, dockerCli, engineAnswers, enginePart, removeBridge, startEngine } from './docker';
import { engineTls } from './tls';
import { endpointsFile, LabEndpoints, lastEndpointsFile, readEndpointsFile, writeEndpointsFile } from './endpoints';
import { LabError, errorText } from './errors';
import { ETCD_NAMES, ETCD_TOKEN, etcdPart, memberHealthy, startCluster } from './etcd';
import { BUSYBOX_IMAGE, busyboxTar, importBusybox, pushBusybox, pushBusyboxWithSkopeo } from './images';
import { createNetns, NETNS, NS_ADDR, netnsPids, removeNetns, setSlowLink } from './netns';
import { NGINX_PART, startNginx } from './nginx';
import { ensurePackages } from './packages';
import { pickPorts } from './ports';
import { httpGet, httpOk, isAlive, ownedBy, run, stopPart, stopPid, tcpAnswers } from './processes';
import { registryPart, startRegistry } from './registry';
import { prepareSsh, SSH_PART, startSshd, verifySshDocker } from './ssh';

export type { LabEndpoints, EtcdMember, RegistryEndpoint } from './endpoints';
export { LabError } from './errors';
export { dockerCli } from './docker';
export { killMember, restartMember } from './etcd';
export { setSlowLink } from './netns';
export { sshRun } from './ssh';

export interface StartOptions {
  root?: string;
  /** the user's own engine: not started, not touched; recorded as external */
  dockerHost?: string;
  /** tc rate (e.g. "10mbit") on the link to the remote host */
  slowLink?: string;
  log?: (line: string) => void;
}

export interface StopOptions {
  root?: string;
  /** also delete the data (images, registry storage, etcd data, keys) */
  purge?: boolean;
  log?: (line: string) => void;
}

const MIN_FREE_BYTES = 2 * 1024 ** 3;
const DAEMON_PARTS = [
  SSH_PART,
  enginePart('remote'),
  enginePart('local'),
  registryPart('test'),
  registryPart('stage'),
  ...ETCD_NAMES.map(etcdPart),
  NGINX_PART,
];

/** The checkout: the nearest folder above this file whose package.json is Wharf's. */
export function repoRoot(from = __dirname): string {
  let first: string | undefined;
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      first ??= dir;
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'wharf') return dir;
      } catch {
        /* not JSON: keep looking */
      }
    }
    if (path.dirname(dir) === dir) return first ?? process.cwd();
  }
}

export function defaultRoot(): string {
  return path.resolve(process.env.WHARF_LAB_ROOT ?? path.join(repoRoot(), '.wharf-lab'));
}

export async function readEndpoints(root = defaultRoot()): Promise<LabEndpoints | undefined> {
  return readEndpointsFile(path.resolve(root));
}

export interface PartCheck {
  part: string;
  ok: boolean;
}

/** One check per part; all must hold for the lab to be reused. */
export async function labReport(e: LabEndpoints): Promise<PartCheck[]> {
  const checks: [string, Promise<boolean>][] = [
    [enginePart('local'), engineAnswers(e.docker.local.host)],
    [enginePart('remote'), engineAnswers(e.docker.remote.host)],
    // The lab's own engine also listens with TLS; a lab started before that existed is restarted.
    ...(e.docker.local.external ? [] : [[`${enginePart('local')}-tls`, e.docker.local.tls ? engineAnswers(e.docker.local.tls.host, e.docker.local.tls.certPath) : Promise.resolve(false)] as [string, Promise<boolean>]]),
    [registryPart('test'), httpOk({ url: `${e.registries.test.url}/v2/` })],
    [registryPart('stage'), httpOk({ url: `${e.registries.stage.url}/v2/` })],
    ...e.etcd.members.map((m): [string, Promise<boolean>] => [etcdPart(m.name), memberHealthy(m.clientUrl)]),
    [SSH_PART, tcpAnswers(e.ssh.host, e.ssh.port)],
    [NGINX_PART, httpOk({ url: `${e.nginx.url}/` })],
  ];
  return Promise.all(checks.map(async ([part, p]) => ({ part, ok: await p.catch(() => false) })));
}

export async function labAnswers(e: LabEndpoints): Promise<boolean> {
  return (await labReport(e)).every((c) => c.ok);
}

/** Starts the lab, or returns the running one when all its parts answer. */
export async function startLab(opts: StartOptions = {}): Promise<LabEndpoints> {
  return (await startOrReuse(opts)).endpoints;
}

/** For tests: reuse a running lab, start one otherwise. */
export async function ensureLab(opts: StartOptions = {}): Promise<{ endpoints: LabEndpoints; startedHere: boolean }> {
  const root = path.resolve(opts.root ?? defaultRoot());
  const e = await readEndpoints(root);
  if (e && sameMode(e, opts) && opts.slowLink === undefined && (await labAnswers(e))) return { endpoints: e, startedHere: false };
  const r = await startOrReuse(opts);
  return { endpoints: r.endpoints, startedHere: !r.reused };
}

/** stopLab(), stopLab(root), stopLab({ purge: true }) or stopLab(root, { purge: true }); returns what it did. */
export async function stopLab(opts: StopOptions | string = {}, more: StopOptions = {}): Promise<string[]> {
  const o = typeof opts === 'string' ? { ...more, root: opts } : opts;
  const root = path.resolve(o.root ?? defaultRoot());
  return withLock(root, () => stopUnlocked(root, o.purge ?? false, o.log ?? (() => undefined)));
}

/** A running lab fits when it uses the engine asked for: its own, or exactly the given dockerHost. */
function sameMode(e: LabEndpoints, opts: StartOptions): boolean {
  return opts.dockerHost ? e.docker.local.host === opts.dockerHost : !e.docker.local.external;
}

async function startOrReuse(opts: StartOptions): Promise<{ endpoints: LabEndpoints; reused: boolean }> {
  const root = path.resolve(opts.root ?? defaultRoot());
  const log = opts.log ?? (() => undefined);
  await fs.mkdir(root, { recursive: true });
  return withLock(root, async () => {
    const previous = await readEndpointsFile(root);
    if (previous && sameMode(previous, opts) && (await labAnswers(previous))) {
      if (opts.slowLink !== undefined && opts.slowLink !== previous.ssh.slowLink) {
        await setSlowLink(opts.slowLink || undefined);
        previous.ssh.slowLink = opts.slowLink || undefined;
        await writeEndpointsFile(previous);
      }
      log('lab already running; reusing it');
      return { endpoints: previous, reused: true };
    }
    for (const note of await stopUnlocked(root, false, () => undefined)) log(`leftover: ${note}`);
    try {
      const last = previous ?? (await readEndpointsFile(root, lastEndpointsFile(root)));
      return { endpoints: await startFresh(root, opts, last, log), reused: false };
    } catch (e) {
      log(`start failed, stopping what was started: ${errorText(e)}`);
      await stopUnlocked(root, false, () => undefined).catch(() => undefined);
      throw e;
    }
  });
}

async function checkDisk(root: string): Promise<void> {
  const s = await fs.statfs(root);
  const free = s.bavail * s.bsize;
  if (free < MIN_FREE_BYTES) {
    throw new LabError('disk', `only ${(free / 1024 ** 3).toFixed(1)} GB free under ${root} (the vfs driver stores every layer in full; 2 GB needed)`, 'free some disk, or stop the lab with --purge to drop its data');
  }
}

/** Waits for every promise; throws the first failure only after all have settled (no half-started daemon escapes the cleanup). */
async function allSettled<T extends readonly unknown[]>(ps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const rs = await Promise.allSettled(ps);
  const bad = rs.find((r) => r.status === 'rejected');
  if (bad) throw (bad as PromiseRejectedResult).reason;
  return rs.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

async function startFresh(root: string, opts: StartOptions, previous: LabEndpoints | undefined, log: (l: string) => void): Promise<LabEndpoints> {
  const t0 = Date.now();
  await checkDisk(root);
  await ensurePackages(log);
  await fs.mkdir(path.join(root, 'run'), { recursive: true });
  await fs.mkdir(path.join(root, 'logs'), { recursive: true });

  const portOf = (url?: string) => (url ? Number(new URL(url).port) : undefined);
  const preferred: Record<string, number | undefined> = {
    'registry-test': portOf(previous?.registries.test.url),
    'registry-stage': portOf(previous?.registries.stage.url),
    nginx: portOf(previous?.nginx.url),
    'docker-tls': portOf(previous?.docker.local.tls?.host.replace('tcp://', 'http://')),
  };
  previous?.etcd.members.forEach((m) => {
    preferred[`${m.name}-client`] = portOf(m.clientUrl);
    preferred[`${m.name}-peer`] = portOf(m.peerUrl);
  });
  const ports = await pickPorts(
    ['registry-test', 'registry-stage', 'nginx', 'docker-tls', ...ETCD_NAMES.flatMap((n) => [`${n}-client`, `${n}-peer`])],
    preferred,
  );

  const external = opts.dockerHost !== undefined;
  if (opts.dockerHost !== undefined && !(await engineAnswers(opts.dockerHost))) {
    throw new LabError(enginePart('local'), `no Docker engine answers at ${opts.dockerHost} (given with dockerHost)`, 'start that engine, or leave dockerHost out to let the lab start its own');
  }
  log('network: bridge and namespace');
  if (!external) await createBridge(root);
  await createNetns(root);
  if (opts.slowLink) await setSlowLink(opts.slowLink);

  const tls = external ? undefined : await engineTls(path.join(root, 'docker-local', 'tls'));
  log('starting engines, sshd, registries, etcd, nginx');
  const remoteSocket = path.join(root, 'docker-remote', 'docker.sock');
  const [local, remote, test, stage, members, nginx, ssh] = await allSettled([
    external ? Promise.resolve(undefined) : startEngine(root, 'local', tls && { port: ports['docker-tls'], server: tls.server }),
    startEngine(root, 'remote'),
    startRegistry(root, 'test', ports['registry-test']),
    startRegistry(root, 'stage', ports['registry-stage']),
    startCluster(root, ports),
    startNginx(root, ports.nginx),
    prepareSsh(root, remoteSocket).then(async (s) => ({ ...s, pid: await startSshd(root, s.sshdConfig) })),
  ] as const);

  log('images: busybox into both engines and the test registry');
  const tar = await busyboxTar(root);
  await allSettled([
    local ? importBusybox(enginePart('local'), local.host, tar) : Promise.resolve(),
    importBusybox(enginePart('remote'), remote.host, tar),
  ] as const);
  const registryBusybox = local
    ? await pushBusybox(local.host, test.address)
    : await pushBusyboxWithSkopeo(root, remote.host, test.address);

  log('checks: port publishing on the local engine, docker over ssh');
  await allSettled([local ? verifyPublish(root, local.host) : Promise.resolve(), verifySshDocker(root, ssh.endpoint)] as const);

  const e: LabEndpoints = {
    version: 1,
    root,
    startedAt: new Date(t0).toISOString(),
    startMs: Date.now() - t0,
    docker: {
      local: local
        ? { host: local.host, socket: local.socket, external: false, bridge: BRIDGE, pid: local.pid, tls: tls && { host: `tcp://127.0.0.1:${ports['docker-tls']}`, certPath: tls.clientDir, otherCaPath: tls.otherCaDir } }
        : { host: opts.dockerHost as string, socket: opts.dockerHost?.startsWith('unix://') ? opts.dockerHost.slice(7) : '', external: true },
      remote: { host: remote.host, socket: remote.socket, netns: NETNS, pid: remote.pid },
    },
    registries: {
      test: { address: test.address, url: test.url, storage: test.storage },
      stage: { address: stage.address, url: stage.url, storage: stage.storage },
    },
    etcd: { endpoints: members.map((m) => m.clientUrl), members, token: ETCD_TOKEN },
    ssh: { ...ssh.endpoint, slowLink: opts.slowLink || undefined },
    nginx: { url: nginx.url, configFile: nginx.configFile, prefix: nginx.prefix, pidFile: nginx.pidFile, upstreamsDir: nginx.upstreamsDir },
    images: { busybox: BUSYBOX_IMAGE, registryBusybox },
  };
  await writeEndpointsFile(e);
  log(`lab up in ${e.startMs} ms`);
  return e;
}

/** `docker run -p 127.0.0.1::80` must publish a port that answers: switchover work relies on it. */
async function verifyPublish(root: string, host: string): Promise<void> {
  const name = 'wharf-lab-publish-check';
  await dockerCli(host, ['rm', '-f', name]).catch(() => undefined);
  try {
    await dockerCli(host, ['run', '-d', '--name', name, '-p', '127.0.0.1::80', BUSYBOX_IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www']);
    const mapped = (await dockerCli(host, ['port', name, '80/tcp'])).trim().split('\n')[0];
    let ok = false;
    for (let i = 0; i < 25 && !ok; i++) {
      ok = await httpGet({ url: `http://${mapped}/` }).then((r) => r.status === 200, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    if (!ok) throw new Error(`http://${mapped}/ did not answer`);
  } catch (err) {
    throw new LabError(enginePart('local'), `port publishing does not work: ${errorText(err)}`, `check iptables and bridge ${BRIDGE}; read ${path.join(root, 'logs', 'docker-local.log')}`);
  } finally {
    await dockerCli(host, ['rm', '-f', name]).catch(() => undefined);
  }
}

async function stopUnlocked(root: string, purge: boolean, log: (l: string) => void): Promise<string[]> {
  const notes: string[] = [];
  const note = (n: string | undefined) => {
    if (n) {
      notes.push(n);
      log(n);
    }
  };
  // Engines get longer: they stop their containers first.
  const others = DAEMON_PARTS.filter((p) => !p.startsWith('etcd-'));
  (await Promise.all(others.map((p) => stopPart(root, p, p.startsWith('docker-') ? 20_000 : 5_000)))).forEach(note);
  // etcd members one at a time: a leader stopped together with its peers waits for a leadership
  // transfer that cannot happen.
  for (const name of ETCD_NAMES) note(await stopPart(root, etcdPart(name), 5_000));
  for (const n of await sweepEngineLeftovers(root)) note(n);
  for (const n of await unmountUnder(root)) note(n);
  for (const n of await removeNetns(root)) note(n);
  note(await removeBridge(root));
  await fs.rename(endpointsFile(root), lastEndpointsFile(root)).catch(() => undefined);
  if (purge) {
    await fs.rm(root, { recursive: true, force: true });
    note(`purged ${root}`);
  }
  return notes;
}

/**
 * What an engine can leave behind when it had to be killed: its containerd and shims (their
 * command lines name the engine's folder under our root) and anything still in our namespace.
 */
async function sweepEngineLeftovers(root: string): Promise<string[]> {
  const notes: string[] = [];
  const dirs = [path.join(root, 'docker-local') + '/', path.join(root, 'docker-remote') + '/'];
  const pids = new Set<number>(await netnsPids());
  for (const entry of await fs.readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const exe = path.basename(await fs.readlink(`/proc/${pid}/exe`).catch(() => ''));
    if (!/^(containerd|containerd-shim.*|runc|docker-proxy|dockerd)$/.test(exe)) continue;
    if (await Promise.all(dirs.map((d) => ownedBy(pid, d))).then((r) => r.some(Boolean))) pids.add(pid);
  }
  for (const pid of pids) {
    if (pid !== process.pid && (await isAlive(pid))) {
      await stopPid(pid, 3000);
      notes.push(`stopped leftover pid ${pid}`);
    }
  }
  return notes;
}

/** Mounts a killed engine left under our root (deepest first), so data can be kept or purged safely. */
async function unmountUnder(root: string): Promise<string[]> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && p.startsWith(root + '/'))
    .sort((a, b) => b.length - a.length);
  const notes: string[] = [];
  for (const p of points) {
    const r = await run('umount', ['-l', p]);
    notes.push(r.code === 0 ? `unmounted ${p}` : `could not unmount ${p}: ${r.stderr.trim()}`);
  }
  return notes;
}

/** One start or stop at a time per root, across processes (parallel test runners). */
async function withLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(root, { recursive: true });
  const lock = path.join(root, 'lab.lock');
  const until = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await fs.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number.parseInt(await fs.readFile(lock, 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(holder) || !(await isAlive(holder))) {
        await fs.rm(lock, { force: true });
        continue;
      }
      if (Date.now() > until) throw new LabError('lock', `${lock} held by pid ${holder} for 10 minutes`, `wait for that process, or kill it (pid ${holder})`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

export const LAB_REMOTE_ADDRESS = NS_ADDR;
