/**
 * HAProxy driven at runtime through its stats socket: servers are added, set ready, drained, put
 * in maintenance and deleted without any reload, so no connection is ever cut by the proxy itself.
 * This is the default path to zero failed requests.
 *
 * Commands used, all present in HAProxy 2.6 (Debian 12): `show servers state <b>`, `show stat`,
 * `add server <b>/<s> <addr>:<port>` (the new server starts in maintenance), `set server <b>/<s>
 * state ready|drain|maint`, `set server <b>/<s> addr <ip> port <port>`, `del server <b>/<s>`
 * (only once it is in maintenance with no connection left; retried until then).
 * The backend must use a dynamic algorithm (roundrobin, leastconn, first, random).
 */
import net from 'node:net';
import { messageOf, WharfError } from '../../core/errors';
import type { Logger } from '../../core/progress';
import { sleep } from '../http';
import { splitAddress, type ProxyDriver, type UpstreamServer } from './types';

/** Sends one command (or several joined by ";") and returns the whole answer. */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  if (/[\n\r]/.test(command)) return Promise.reject(new Error('a runtime API command must be one line'));
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new WharfError({ code: 'unreachable', object: `HAProxy socket ${socketPath}`, cause: messageOf(error), remedy: 'Check that HAProxy runs with "stats socket <path> level admin"', inner: error }));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export interface HaproxyServerState {
  name: string;
  address: string;
  /** 0 = ready; bits for maintenance (0x01…0x04) and drain (0x08, 0x10). */
  adminState: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
}

/** Parses `show servers state <backend>` (format version 1). */
export function parseServersState(text: string): HaproxyServerState[] {
  const servers: HaproxyServerState[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#') || /^\d+$/.test(line.trim())) continue;
    const f = line.trim().split(/\s+/);
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port at 18
    if (f.length < 19) continue;
    servers.push({ name: f[3], address: `${f[4]}:${f[18]}`, opState: Number(f[5]), adminState: Number(f[6]) });
  }
  return servers;
}

/** HAProxy server names: letters, digits and "-_.:"; anything else becomes "_". */
export function serverName(key: string): string {
  return key.replace(/[^a-zA-Z0-9_.:-]/g, '_').slice(0, 60) || '_';
}

export interface HaproxyDriverOptions {
  socketPath: string;
  backend: string;
  /** How long a leaving server may keep in-flight sessions before it is put in maintenance. */
  drainMs?: number;
}

export class HaproxyDriver implements ProxyDriver {
  readonly label: string;
  private readonly retiring = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: HaproxyDriverOptions) {
    this.label = `haproxy backend ${options.backend} via ${options.socketPath}`;
  }

  private async run(command: string): Promise<string> {
    const answer = (await haproxyCommand(this.options.socketPath, command)).trim();
    // The runtime API answers errors as text; these prefixes are how it says no.
    if (/^(Unknown command|No such|Invalid|Require|Cannot|Unable|.*not found|.*must be)/im.test(answer) && !/^New server registered|^Server deleted/m.test(answer)) {
      throw new WharfError({ code: 'failed', object: `HAProxy ${this.options.backend}`, cause: `"${command}" answered: ${answer.split('\n')[0]}`, remedy: 'Check the backend name and that it uses a dynamic balance algorithm (roundrobin)' });
    }
    return answer;
  }

  async servers(): Promise<HaproxyServerState[]> {
    const text = await this.run(`show servers state ${this.options.backend}`);
    if (/^Can't find backend/m.test(text)) throw new WharfError({ code: 'not-found', object: `HAProxy backend ${this.options.backend}`, cause: 'no such backend', remedy: 'Pass the backend name from haproxy.cfg (--backend)' });
    return parseServersState(text);
  }

  /** Current sessions per server, from `show stat` (CSV: pxname, svname, ..., scur at column 4). */
  async sessions(): Promise<Map<string, number>> {
    const text = await this.run('show stat');
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      const f = line.split(',');
      if (f[0] === this.options.backend && f[1] !== 'BACKEND' && f[1] !== 'FRONTEND') counts.set(f[1], Number(f[4]) || 0);
    }
    return counts;
  }

  async apply(desired: UpstreamServer[], log: Logger): Promise<void> {
    const b = this.options.backend;
    const current = new Map((await this.servers()).map((s) => [s.name, s]));
    const wanted = new Map<string, string>();
    for (const server of desired) {
      const split = splitAddress(server.address);
      if (!split) {
        log.warn(`haproxy: skipping ${server.name}: "${server.address}" is not host:port`);
        continue;
      }
      wanted.set(serverName(server.name), server.address);
    }
    if (wanted.size === 0) throw new WharfError({ code: 'bad-input', object: `HAProxy backend ${b}`, cause: 'no usable upstream address', remedy: 'Upstream values must be host:port' });
    // New and changed servers first, so the backend is never without a ready server.
    for (const [name, address] of wanted) {
      const [host, port] = splitAddress(address)!;
      let now = current.get(name);
      // A server coming back while it was being retired: let the retirement end, then look again.
      if (this.retiring.has(name)) {
        await this.retiring.get(name);
        now = (await this.servers()).find((s) => s.name === name);
      }
      if (!now) {
        await this.run(`add server ${b}/${name} ${host}:${port}`);
        log.info(`haproxy: added ${b}/${name} ${host}:${port}`);
      } else if (now.address !== `${host}:${port}`) {
        await this.run(`set server ${b}/${name} addr ${host} port ${port}`);
        log.info(`haproxy: ${b}/${name} now at ${host}:${port}`);
      }
      if (!now || now.adminState !== 0) {
        await this.run(`set server ${b}/${name} state ready`);
        log.info(`haproxy: ${b}/${name} ready`);
      }
    }
    for (const name of current.keys()) {
      if (wanted.has(name) || this.retiring.has(name)) continue;
      await this.run(`set server ${b}/${name} state drain`);
      log.info(`haproxy: ${b}/${name} draining (no new requests)`);
      const retire = this.retire(name, log).finally(() => this.retiring.delete(name));
      this.retiring.set(name, retire);
    }
  }

  /** Drain → maintenance → delete, in the background: in-flight requests finish first. */
  private async retire(name: string, log: Logger): Promise<void> {
    const b = this.options.backend;
    const until = Date.now() + (this.options.drainMs ?? 2000);
    while (Date.now() < until && !this.closed) {
      const sessions = (await this.sessions().catch(() => new Map<string, number>())).get(name) ?? 0;
      if (sessions === 0) break;
      await sleep(100);
    }
    try {
      await this.run(`set server ${b}/${name} state maint`);
      for (let attempt = 0; attempt < 50 && !this.closed; attempt++) {
        const answer = await haproxyCommand(this.options.socketPath, `del server ${b}/${name}`);
        if (/Server deleted/.test(answer)) {
          log.info(`haproxy: removed ${b}/${name}`);
          return;
        }
        await sleep(200);
      }
      log.warn(`haproxy: ${b}/${name} stays in maintenance (still has connections); it receives no traffic`);
    } catch (error) {
      log.warn(`haproxy: retiring ${b}/${name}: ${messageOf(error)}`);
    }
  }

  /** Waits for retirements in progress (tests and shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.retiring.values()]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settle();
  }
}

export interface HaproxyConfigOptions {
  socketPath: string;
  /** 127.0.0.1:8080 */
  bind: string;
  backend: string;
  pidFile?: string;
}

/**
 * A starting haproxy.cfg for a Wharf-managed backend: HTTP keep-alive on both sides, the admin
 * socket, an empty backend that `wharf confd` fills. Failed connects to a server are retried on
 * another one (`retry-on conn-failure` + `option redispatch`): they happen before any byte was sent.
 */
export function renderHaproxyConfig(o: HaproxyConfigOptions): string {
  return `# Written by Wharf. Servers of backend ${o.backend} are managed at runtime by \`wharf confd\`.
global
  stats socket ${o.socketPath} mode 600 level admin
${o.pidFile ? `  pidfile ${o.pidFile}\n` : ''}  maxconn 4096

defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 10s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend ${o.backend}_in
  bind ${o.bind}
  default_backend ${o.backend}

backend ${o.backend}
  balance roundrobin
`;
}
