/**
 * A caching proxy for package downloads: Debian's apt-cacher-ng run as a local process with its own
 * config, cache and log folders under a folder the caller gives (the extension's storage, a CLI
 * cache folder, `.wharf-lab/cache` in tests). It runs unprivileged in such a folder, so no system
 * service and no squid are needed. Builds use it through the predefined build args `http_proxy` /
 * `HTTP_PROXY`, which the classic builder passes without an ARG in the Dockerfile and keeps out of
 * the image history and the layer-cache key. Hit rate and bytes saved come from its transfer log.
 */
import type Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { WharfError, messageOf } from '../core/errors';
import type { Logger } from '../core/progress';

export const CACHE_PROGRAM = 'apt-cacher-ng';

export interface PackageCacheState {
  version: 1;
  program: typeof CACHE_PROGRAM;
  pid: number;
  port: number;
  /** Addresses it listens on: loopback plus, for builds, the engine's bridge gateway. */
  bind: string[];
  dir: string;
  startedAt: string;
}

export interface StartCacheOptions {
  /** Everything lives here: conf/, cache/, log/, state.json. */
  dir: string;
  /** A free one is picked when absent. */
  port?: number;
  /** Extra addresses to listen on (the bridge gateway build containers reach the host by). */
  bind?: string[];
  /** The apt-cacher-ng binary (default: the one on PATH, then /usr/sbin). */
  program?: string;
  log?: Logger;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'wharf', 'package-cache');
}

const stateFile = (dir: string) => path.join(dir, 'state.json');
const transferLog = (dir: string) => path.join(dir, 'log', 'apt-cacher.log');

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Alive and still apt-cacher-ng (a recycled pid must not be taken for it, or killed). */
async function isOurProcess(pid: number): Promise<boolean> {
  if (!pidAlive(pid)) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline === undefined ? true : cmdline.includes(CACHE_PROGRAM);
}

export function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (cause: string | undefined) => {
      socket.destroy();
      resolve(cause);
    };
    socket.setTimeout(timeoutMs, () => done('timed out'));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? error.message)));
  });
}

/** The running cache in `dir`, or undefined when none runs there (a stale state file is ignored). */
export async function packageCacheState(dir: string): Promise<PackageCacheState | undefined> {
  let state: PackageCacheState;
  try {
    state = JSON.parse(await readFile(stateFile(dir), 'utf8')) as PackageCacheState;
  } catch {
    return undefined;
  }
  if (state.version !== 1 || !(await isOurProcess(state.pid))) return undefined;
  return state;
}

/**
 * apt-cacher-ng 3.7 cannot listen on ports from 32768 up ("Error resolving address for binding"),
 * which is where the kernel's ephemeral range starts: so a free port is picked below it.
 */
export const MAX_CACHE_PORT = 32767;

async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * (MAX_CACHE_PORT - 20000));
    if (await portFree(port)) return port;
  }
  throw new WharfError({ code: 'conflict', object: 'package cache', cause: 'found no free port between 20000 and 32767', remedy: 'Pass a free port with --port' });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function findProgram(program: string | undefined): Promise<string> {
  if (program) return program;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, CACHE_PROGRAM);
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  }
  throw new WharfError({ code: 'not-found', object: CACHE_PROGRAM, cause: 'is not installed', remedy: 'Install it: apt-get install apt-cacher-ng (Wharf runs it in its own folder; the system service is not needed)' });
}

/** Starts the cache (or returns the one already running in `dir`). */
export async function startPackageCache(options: StartCacheOptions): Promise<PackageCacheState & { reused: boolean }> {
  const dir = path.resolve(options.dir);
  const running = await packageCacheState(dir);
  if (running) {
    const wanted = options.port === undefined || options.port === running.port;
    const binds = (options.bind ?? []).every((address) => running.bind.includes(address));
    if (wanted && binds) return { ...running, reused: true };
    throw new WharfError({ code: 'conflict', object: `package cache in ${dir}`, cause: `already runs on port ${running.port} (${running.bind.join(', ')})`, remedy: 'Stop it first (wharf cache down), or use it as it is' });
  }
  const program = await findProgram(options.program);
  let port = options.port;
  if (port === undefined) port = await freePort();
  else if (!Number.isInteger(port) || port < 1 || port > MAX_CACHE_PORT) {
    throw new WharfError({ code: 'bad-input', object: `port ${port}`, cause: `${CACHE_PROGRAM} listens only on ports 1 to ${MAX_CACHE_PORT}`, remedy: 'Pick a port in that range, or leave it out to get a free one' });
  } else if (!(await portFree(port))) {
    throw new WharfError({ code: 'conflict', object: `port ${port}`, cause: 'is in use', remedy: 'Pick another --port, or leave it out to get a free one' });
  }
  const bind = [...new Set(['127.0.0.1', ...(options.bind ?? [])])];
  for (const sub of ['conf', 'cache', 'log']) await mkdir(path.join(dir, sub), { recursive: true });
  // No Remap rules: requests are cached by host and path, so any http mirror works as it is.
  const conf = [
    `CacheDir: ${path.join(dir, 'cache')}`,
    `LogDir: ${path.join(dir, 'log')}`,
    'SupportDir: /usr/lib/apt-cacher-ng',
    `Port: ${port}`,
    `BindAddress: ${bind.join(' ')}`,
    `SocketPath: ${path.join(dir, 'acng.socket')}`,
    `PidFile: ${path.join(dir, 'acng.pid')}`,
    'ForeGround: 1',
    'ExThreshold: 4',
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'conf', 'acng.conf'), conf);
  const out = await open(path.join(dir, 'out.log'), 'w');
  let exited: string | undefined;
  let child;
  try {
    child = spawn(program, ['-c', path.join(dir, 'conf')], { detached: true, stdio: ['ignore', out.fd, out.fd] });
  } finally {
    await out.close();
  }
  child.once('error', (error) => (exited = messageOf(error)));
  child.once('exit', (code, signal) => (exited = `exited (${signal ?? `code ${code}`})`));
  child.unref();
  const deadline = Date.now() + 10_000;
  while (!exited && (await tcpAnswers('127.0.0.1', port, 500)) !== undefined) {
    if (Date.now() > deadline) {
      exited = 'did not answer within 10 s';
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (exited || !child.pid) {
    const output = await readFile(path.join(dir, 'out.log'), 'utf8').catch(() => '');
    throw new WharfError({ code: 'failed', object: `${CACHE_PROGRAM} on port ${port}`, cause: `${exited ?? 'did not start'}${output.trim() ? `: ${output.trim().split('\n').slice(-3).join(' / ')}` : ''}`, remedy: `See ${path.join(dir, 'out.log')}` });
  }
  const state: PackageCacheState = { version: 1, program: CACHE_PROGRAM, pid: child.pid, port, bind, dir, startedAt: new Date().toISOString() };
  const tmp = `${stateFile(dir)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 1));
  await rename(tmp, stateFile(dir));
  options.log?.info(`package cache: ${CACHE_PROGRAM} pid ${child.pid} on ${bind.map((address) => `${address}:${port}`).join(', ')}, folder ${dir}`);
  return { ...state, reused: false };
}

/** Stops the cache in `dir`; false when none ran. The cached files stay for the next start. */
export async function stopPackageCache(dir: string): Promise<boolean> {
  const state = await packageCacheState(path.resolve(dir));
  await rm(stateFile(path.resolve(dir)), { force: true });
  if (!state) return false;
  process.kill(state.pid, 'SIGTERM');
  for (let waited = 0; waited < 5000 && pidAlive(state.pid); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  if (pidAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
  return true;
}

export interface CacheStats {
  /** Files served to clients. */
  requests: number;
  /** Served without a download from the mirror. */
  hits: number;
  misses: number;
  hitRate: number;
  bytesServed: number;
  /** Bytes downloaded from mirrors. */
  bytesFetched: number;
  /** Served minus fetched: what the mirror did not have to send. */
  bytesSaved: number;
  /** Where the log ended: pass it as `since` to count only what happens after. */
  mark: number;
}

/** The current end of the transfer log, to count one build's traffic on its own. */
export async function cacheStatsMark(dir: string): Promise<number> {
  return stat(transferLog(path.resolve(dir))).then((s) => s.size, () => 0);
}

/**
 * Reads apt-cacher-ng's transfer log ("time|I|bytes|client|path" for a download from the mirror,
 * "time|O|bytes|client|path" for a file sent to a client), streamed line by line from `since`.
 * A request that needed no download is a hit.
 */
export async function readCacheStats(dir: string, options: { since?: number } = {}): Promise<CacheStats> {
  const file = transferLog(path.resolve(dir));
  const size = await stat(file).then((s) => s.size, () => 0);
  const start = Math.min(options.since ?? 0, size);
  let requests = 0;
  let misses = 0;
  let bytesServed = 0;
  let bytesFetched = 0;
  if (size > start) {
    const lines = createInterface({ input: createReadStream(file, { start, end: size - 1 }), crlfDelay: Infinity });
    for await (const line of lines) {
      const [, kind, bytes] = line.split('|');
      const count = Number(bytes) || 0;
      if (kind === 'O') {
        requests++;
        bytesServed += count;
      } else if (kind === 'I') {
        misses++;
        bytesFetched += count;
      }
    }
  }
  const hits = Math.max(0, requests - misses);
  return { requests, hits, misses: requests - hits, hitRate: requests ? hits / requests : 0, bytesServed, bytesFetched, bytesSaved: Math.max(0, bytesServed - bytesFetched), mark: size };
}

/** The engine's default bridge gateway: how a build container reaches a process on the engine's host. */
export async function bridgeGateway(docker: Docker): Promise<string | undefined> {
  try {
    const network = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] } };
    for (const config of network.IPAM?.Config ?? []) {
      if (config.Gateway && net.isIPv4(config.Gateway)) return config.Gateway;
    }
  } catch {
    // An engine without a bridge (--bridge=none): builds reach the host only with --network host.
  }
  return undefined;
}

/** The proxy URL a build on `docker` should use for the cache in `state`. */
export async function buildProxyUrl(docker: Docker, state: PackageCacheState): Promise<string> {
  const gateway = await bridgeGateway(docker);
  const address = gateway && state.bind.includes(gateway) ? gateway : (state.bind.find((a) => a !== '127.0.0.1') ?? '127.0.0.1');
  return `http://${address}:${state.port}`;
}

/** The predefined proxy build args (no Dockerfile change needed). https stays direct: it can't be cached. */
export function proxyBuildArgs(url: string): Record<string, string> {
  return { http_proxy: url, HTTP_PROXY: url };
}

/** Undefined when the proxy answers; otherwise the reason, for the "building without it" warning. */
export async function probeProxy(url: string, timeoutMs = 2000): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'http:') return `unsupported scheme ${parsed.protocol.replace(/:$/, '')} (use http://host:port)`;
  return tcpAnswers(parsed.hostname, Number(parsed.port || 80), timeoutMs);
}
