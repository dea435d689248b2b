/**
 * The switchover scenario on the lab: two versions of a tiny busybox httpd app built on the local
 * engine, HAProxy (Debian's, installed here if missing) with an empty backend, `wharf confd`
 * in-process filling it from a prefix of this test's own, and v1 running behind it.
 * Shared by the engine tests, the extension-host test and the bench.
 */
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerCli, ensureLab, type LabEndpoints } from '../../lab/lab';
import { pickPorts } from '../../lab/ports';
import { EtcdCluster } from '../../../src/engines/etcd/cluster';
import { deletePrefix, put } from '../../../src/engines/etcd/edit';
import { Confd } from '../../../src/engines/switchover/confd';
import { httpProbe, sleep } from '../../../src/engines/switchover/http';
import { validatePlan, type SwitchoverPlan } from '../../../src/engines/switchover/plan';
import { HaproxyDriver, renderHaproxyConfig } from '../../../src/engines/switchover/proxy/haproxy';
import { NginxDriver } from '../../../src/engines/switchover/proxy/nginx';
import type { ProxyDriver } from '../../../src/engines/switchover/proxy/types';
import type { Logger } from '../../../src/engines/core/progress';

export const APP_IMAGES = { v1: 'wharf-test/switch-app:v1', v2: 'wharf-test/switch-app:v2', bad: 'wharf-test/switch-app:bad' };

function exec(file: string, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** HAProxy from Debian: installed when missing (the lab's package list is someone else's file). */
export async function ensureHaproxy(): Promise<string> {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy']) if (existsSync(candidate)) return candidate;
  await exec('apt-get', ['install', '-y', '--no-install-recommends', 'haproxy'], 600_000).catch(async () => {
    await exec('apt-get', ['update'], 600_000);
    await exec('apt-get', ['install', '-y', '--no-install-recommends', 'haproxy'], 600_000);
  });
  if (!existsSync('/usr/sbin/haproxy')) throw new Error('haproxy is not installed and apt-get could not install it: the switchover tests need Debian\'s haproxy package');
  return '/usr/sbin/haproxy';
}

/** v1 and v2 answer their name at /, "ok" at /health; "bad" answers v3 at / and 404 at /health. */
export async function buildAppImages(lab: LabEndpoints): Promise<void> {
  const host = lab.docker.local.host;
  for (const [version, image] of Object.entries(APP_IMAGES)) {
    const have = await dockerCli(host, ['image', 'inspect', '--format', '{{.Id}}', image]).then(() => true, () => false);
    if (have) continue;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wharf-app-'));
    try {
      await fs.mkdir(path.join(dir, 'www'));
      await fs.writeFile(path.join(dir, 'www', 'index.html'), `${version === 'bad' ? 'v3' : version}\n`);
      if (version !== 'bad') await fs.writeFile(path.join(dir, 'www', 'health'), 'ok\n');
      await fs.writeFile(
        path.join(dir, 'Dockerfile'),
        `FROM ${lab.images.busybox}\nCOPY www /www\nEXPOSE 80\nLABEL wharf.test=switchover\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n`,
      );
      await dockerCli(host, ['build', '-q', '-t', image, dir]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

export interface HaproxyProcess {
  url: string;
  socket: string;
  backend: string;
  stop(): Promise<void>;
}

export async function startHaproxy(dir: string, backend = 'app'): Promise<HaproxyProcess> {
  const binary = await ensureHaproxy();
  const { port } = await pickPorts(['port']);
  const socket = path.join(dir, 'haproxy.sock');
  const pidFile = path.join(dir, 'haproxy.pid');
  const cfg = path.join(dir, 'haproxy.cfg');
  await fs.writeFile(cfg, renderHaproxyConfig({ socketPath: socket, bind: `127.0.0.1:${port}`, backend, pidFile }));
  await exec(binary, ['-D', '-f', cfg, '-p', pidFile]);
  const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
  return {
    url: `http://127.0.0.1:${port}`,
    socket,
    backend,
    async stop() {
      try {
        process.kill(pid, 'SIGUSR1'); // soft stop
      } catch {
        return;
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await sleep(100);
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

export interface NginxProcess {
  url: string;
  upstreamFile: string;
  configFile: string;
  prefix: string;
  pidFile: string;
  stop(): Promise<void>;
}

/** An nginx of this test's own (not the lab's shared one): reloading it disturbs nobody. */
export async function startNginx(dir: string, initial: string): Promise<NginxProcess> {
  const { port } = await pickPorts(['port']);
  const prefix = path.join(dir, 'nginx');
  await fs.mkdir(path.join(prefix, 'temp'), { recursive: true });
  const upstreamFile = path.join(prefix, 'upstream-app.conf');
  const pidFile = path.join(prefix, 'nginx.pid');
  const configFile = path.join(prefix, 'nginx.conf');
  await fs.writeFile(upstreamFile, `upstream app {\n  server ${initial} max_fails=0;\n  keepalive 32;\n}\n`);
  await fs.writeFile(
    configFile,
    `worker_processes 1;
pid ${pidFile};
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/temp/client_body;
  proxy_temp_path ${prefix}/temp/proxy;
  fastcgi_temp_path ${prefix}/temp/fastcgi;
  uwsgi_temp_path ${prefix}/temp/uwsgi;
  scgi_temp_path ${prefix}/temp/scgi;
  include ${upstreamFile};
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502;
    }
  }
}
`,
  );
  await exec('nginx', ['-p', `${prefix}/`, '-c', configFile]);
  return {
    url: `http://127.0.0.1:${port}`,
    upstreamFile,
    configFile,
    prefix,
    pidFile,
    async stop() {
      const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (!pid) return;
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        return;
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await sleep(100);
      }
    },
  };
}

/** Starts an app container like a user would: published on a loopback ephemeral port, with an init so SIGTERM works. */
export async function runApp(docker: Docker, name: string, image: string, labels: Record<string, string>): Promise<{ id: string; address: string }> {
  const container = await docker.createContainer({
    name,
    Image: image,
    Env: ['APP_MODE=test'],
    Labels: labels,
    HostConfig: { Init: true, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  await container.start();
  const info = await container.inspect();
  const binding = (info.NetworkSettings.Ports['80/tcp'] ?? [])[0];
  const address = `127.0.0.1:${binding.HostPort}`;
  for (let i = 0; i < 100; i++) {
    if ((await httpProbe(`http://${address}/health`, 1000).catch(() => undefined))?.status === 200) return { id: container.id, address };
    await sleep(100);
  }
  throw new Error(`${name} (${image}) did not answer on ${address}`);
}

export interface Scenario {
  lab: LabEndpoints;
  docker: Docker;
  cluster: EtcdCluster;
  /** The cluster confd uses: its own client, as a separate `wharf confd` process would have. */
  confdCluster: EtcdCluster;
  confd: Confd | undefined;
  driver: ProxyDriver;
  haproxy?: HaproxyProcess;
  nginx?: NginxProcess;
  proxyUrl: string;
  plan: SwitchoverPlan;
  app: string;
  logs: string[];
  cleanup(): Promise<void>;
}

export interface ScenarioOptions {
  proxy?: 'haproxy' | 'nginx';
  image?: string;
  /** false: no in-process confd (the test runs `wharf confd` itself); the proxy then serves nothing until it does. */
  confd?: boolean;
  plan?: Partial<SwitchoverPlan>;
}

export function memoryLogger(lines: string[]): Logger {
  const add = (level: string) => (message: string) => {
    lines.push(`${new Date().toISOString().slice(11, 23)} ${level} ${message}`);
    if (lines.length > 2000) lines.shift();
  };
  return { trace: () => undefined, info: add('info'), warn: add('warn'), error: add('error') };
}

export async function setupScenario(name: string, options: ScenarioOptions = {}): Promise<Scenario> {
  const lab = (await ensureLab()).endpoints;
  if (lab.docker.local.external) throw new Error('the lab runs against an external engine; switchover tests only run on the lab\'s own engine');
  await ensureHaproxy();
  await buildAppImages(lab);
  const docker = new Docker({ socketPath: lab.docker.local.socket });
  const token = randomBytes(3).toString('hex');
  const app = `so-${name}-${token}`;
  const root = `/wharf-test/${app}/`;
  const prefix = `${root}upstream/`;
  const statusPrefix = `${root}status/`;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `wharf-${app}-`));
  const cluster = await EtcdCluster.open({ name: 'lab', endpoints: lab.etcd.endpoints });
  const confdCluster = await EtcdCluster.open({ name: 'lab', endpoints: lab.etcd.endpoints });
  const logs: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const v1 = await runApp(docker, `${app}-v1`, APP_IMAGES.v1, { 'wharf.switchover.app': app });
    cleanups.push(() => removeAppContainers(docker, app));
    await put(cluster, `${prefix}${app}-v1`, Buffer.from(v1.address));
    cleanups.push(() => deletePrefix(cluster, root));
    let driver: ProxyDriver;
    let proxyUrl: string;
    let haproxyProcess: HaproxyProcess | undefined;
    let nginxProcess: NginxProcess | undefined;
    if ((options.proxy ?? 'haproxy') === 'haproxy') {
      const haproxy = await startHaproxy(dir);
      haproxyProcess = haproxy;
      cleanups.push(() => haproxy.stop());
      driver = new HaproxyDriver({ socketPath: haproxy.socket, backend: haproxy.backend, drainMs: 2000 });
      proxyUrl = haproxy.url;
    } else {
      const nginx = await startNginx(dir, v1.address);
      nginxProcess = nginx;
      cleanups.push(() => nginx.stop());
      driver = new NginxDriver({ upstreamFile: nginx.upstreamFile, upstream: 'app', pidFile: nginx.pidFile, configFile: nginx.configFile, prefix: nginx.prefix });
      proxyUrl = nginx.url;
    }
    const confd = options.confd === false ? undefined : await Confd.start({ cluster: confdCluster, prefix, statusKey: `${statusPrefix}confd/applied_revision`, driver, log: memoryLogger(logs) });
    if (confd) cleanups.push(() => confd.close());
    // Serving v1 through the proxy before anything starts.
    for (let i = 0; confd || options.proxy === 'nginx'; i++) {
      const answer = await httpProbe(`${proxyUrl}/`, 2000).catch(() => undefined);
      if (answer?.status === 200 && answer.body.trim() === 'v1') break;
      if (i > 100) throw new Error(`the proxy at ${proxyUrl} does not serve v1: ${logs.slice(-5).join(' | ')}`);
      await sleep(100);
    }
    const plan = validatePlan({
      app,
      container: `${app}-v1`,
      image: options.image ?? APP_IMAGES.v2,
      host: lab.docker.local.host,
      etcd: { endpoints: lab.etcd.endpoints },
      prefix,
      key: `${app}-v1`,
      statusPrefix,
      health: { kind: 'http', path: '/health', expectStatus: 200, timeoutMs: 1000, intervalMs: 200, successes: 2, withinMs: 5000 },
      proxyUrl,
      proxyWithinMs: 20_000,
      drainMs: 1000,
      stopTimeoutSeconds: 2,
      retention: 1,
      ...options.plan,
    });
    return {
      lab,
      docker,
      cluster,
      confdCluster,
      confd,
      driver,
      haproxy: haproxyProcess,
      nginx: nginxProcess,
      proxyUrl,
      plan,
      app,
      logs,
      async cleanup() {
        for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error(`cleanup: ${error}`));
        cluster.close();
        confdCluster.close();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cluster.close();
    confdCluster.close();
    throw error;
  }
}

/** Removes every container this scenario made (they carry the app label). */
export async function removeAppContainers(docker: Docker, app: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`wharf.switchover.app=${app}`] } });
  for (const c of list) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

export async function appContainers(docker: Docker, app: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`wharf.switchover.app=${app}`] } });
}
