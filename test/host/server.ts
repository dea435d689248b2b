/**
 * Starts and stops a VS Code server (the one inside code-server) for tests, UI
 * checks and `npm run lab`.
 *
 *   const server = await startVsCodeServer({ testMode: true, extensionDevelopmentPath: repo });
 *   page.goto(server.workbenchUrl({ folder: '/abs/ws' }));
 *   await server.stop();
 *
 * Defaults are the safe ones for a long-lived lab: a random connection token,
 * workspace trust on, no smoke-test driver. `testMode: true` (or the individual
 * options) turns the token and trust off and the smoke-test driver on, which is
 * what running extension tests through the payload needs.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ensureVsCodeHost, type VsCodeHost } from './install';

export interface VsCodeServerOptions {
  /** Shorthand for token: false, workspaceTrust: false, smokeTestDriver: true. */
  testMode?: boolean;
  /** Connection token. Default: random. `false` runs --without-connection-token. */
  token?: string | false;
  /** Workspace trust. Default: on (false adds --disable-workspace-trust). */
  workspaceTrust?: boolean;
  /** --enable-smoke-test-driver: needed for the payload (extension tests) and codeAutomation*. Default off. */
  smokeTestDriver?: boolean;
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** Root for the three data folders below when they are not given. Default: a new temp folder (removed by stop()). */
  dataDir?: string;
  userDataDir?: string;
  serverDataDir?: string;
  extensionsDir?: string;
  /** Folder of an extension to load as under development (put into the workbench URL payload). */
  extensionDevelopmentPath?: string;
  /** Test module for the payload's extensionTestsPath (needs the smoke-test driver). */
  extensionTestsPath?: string;
  /** .vsix files (or gallery ids) installed with --install-extension before the server starts. */
  installExtensions?: string[];
  /** Written to <user data>/Machine/settings.json (remote machine settings, e.g. wharf.*). */
  machineSettings?: Record<string, unknown>;
  /** Written to <user data>/User/settings.json. */
  userSettings?: Record<string, unknown>;
  /** Extra environment for the server and so for its extension host. */
  env?: NodeJS.ProcessEnv;
  /** Server output goes here (appended). Default: <dataDir>/server.log. */
  logFile?: string;
  /** Also copy server output to this stream (e.g. process.stderr). */
  echo?: NodeJS.WritableStream;
  /** Extra server arguments. */
  extraArgs?: string[];
  /** How long to wait for the server to answer. Default 60 s. */
  startTimeoutMs?: number;
}

export interface VsCodeServer {
  host: VsCodeHost;
  /** http://host:port/ (with ?tkn=... when there is a token). */
  url: string;
  baseUrl: string;
  port: number;
  token: string | undefined;
  userDataDir: string;
  serverDataDir: string;
  extensionsDir: string;
  logFile: string;
  process: ChildProcess;
  /** The workbench URL for a folder, with the extension under development / tests in the payload. */
  workbenchUrl(opts?: { folder?: string; extensionDevelopmentPath?: string; extensionTestsPath?: string; payload?: [string, string][] }): string;
  /** Kills the server and its extension hosts; removes the temp data folder if we made it. Idempotent. */
  stop(): Promise<void>;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function writeJson(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
}

function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: fs.WriteStream): Promise<void> {
  log.write(`\n$ ${cmd} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d;
      log.write(d);
    };
    c.stdout.on('data', take);
    c.stderr.on('data', take);
    c.on('error', reject);
    c.on('close', (code) => (code === 0 && !/Failed Installing/i.test(out) ? resolve() : reject(new Error(`${args.join(' ')} failed (${code}):\n${out.trim()}`))));
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`VS Code server exited (${child.exitCode ?? child.signalCode}) before answering; see ${logFile}`);
    }
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`VS Code server did not answer ${url} within ${timeoutMs} ms (${last}); see ${logFile}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the server and its extension hosts share our detached group
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
}

async function waitGroupGone(pgid: number | undefined, timeoutMs: number): Promise<void> {
  if (pgid === undefined) return;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: nobody left in the group
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startVsCodeServer(opts: VsCodeServerOptions = {}): Promise<VsCodeServer> {
  const test = opts.testMode === true;
  const token = opts.token === undefined ? (test ? undefined : randomBytes(16).toString('hex')) : opts.token || undefined;
  const trust = opts.workspaceTrust ?? !test;
  const smoke = opts.smokeTestDriver ?? test;
  const hostName = opts.host ?? '127.0.0.1';
  const host = await ensureVsCodeHost({ quiet: true });

  const madeDataDir = !opts.dataDir && !(opts.userDataDir && opts.serverDataDir && opts.extensionsDir);
  const dataDir = opts.dataDir ?? (madeDataDir ? fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-vscode-')) : path.dirname(opts.userDataDir!));
  const userDataDir = path.resolve(opts.userDataDir ?? path.join(dataDir, 'user-data'));
  const serverDataDir = path.resolve(opts.serverDataDir ?? path.join(dataDir, 'server-data'));
  const extensionsDir = path.resolve(opts.extensionsDir ?? path.join(dataDir, 'extensions'));
  for (const d of [userDataDir, serverDataDir, extensionsDir]) fs.mkdirSync(d, { recursive: true });
  const logFile = opts.logFile ?? path.join(dataDir, 'server.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });

  // With --user-data-dir given, the server keeps Machine/ and User/ right under it.
  if (opts.machineSettings) writeJson(path.join(userDataDir, 'Machine', 'settings.json'), opts.machineSettings);
  if (opts.userSettings) writeJson(path.join(userDataDir, 'User', 'settings.json'), opts.userSettings);

  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  // Our own Node/npm variables would confuse the server's Node 24 and its extension host.
  delete env.NODE_OPTIONS;
  delete env.ELECTRON_RUN_AS_NODE;
  const dirArgs = [`--user-data-dir=${userDataDir}`, `--server-data-dir=${serverDataDir}`, `--extensions-dir=${extensionsDir}`];

  for (const ext of opts.installExtensions ?? []) {
    await runToEnd(host.node24, [host.serverMain, ...dirArgs, '--accept-server-license-terms', '--install-extension', ext, '--force'], env, log);
  }

  const port = opts.port ?? (await freePort(hostName));
  const args = [
    host.serverMain,
    '--host', hostName,
    '--port', String(port),
    ...(token ? ['--connection-token', token] : ['--without-connection-token']),
    '--accept-server-license-terms',
    ...dirArgs,
    '--telemetry-level', 'off',
    ...(trust ? [] : ['--disable-workspace-trust']),
    ...(smoke ? ['--enable-smoke-test-driver'] : []),
    ...(opts.extraArgs ?? []),
  ];
  log.write(`\n$ ${host.node24} ${args.map((a) => (a === token ? '<token>' : a)).join(' ')}\n`);
  const child = spawn(host.node24, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const sink = (d: Buffer) => {
    log.write(d);
    opts.echo?.write(d);
  };
  child.stdout!.on('data', sink);
  child.stderr!.on('data', sink);

  const baseUrl = `http://${hostName}:${port}/`;
  const url = token ? `${baseUrl}?tkn=${token}` : baseUrl;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        killGroup(child, 'SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
        killGroup(child, 'SIGKILL'); // stragglers of the group (extension hosts, pty hosts)
        await waitGroupGone(child.pid, 5000);
      }
      await new Promise<void>((r) => log.end(r));
      if (madeDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    })());

  try {
    await waitForHttp(`${baseUrl}version`, child, opts.startTimeoutMs ?? 60_000, logFile);
  } catch (e) {
    await stop();
    throw e;
  }

  const authority = `${hostName}:${port}`;
  const workbenchUrl: VsCodeServer['workbenchUrl'] = (o = {}) => {
    const params = new URLSearchParams();
    if (token) params.set('tkn', token);
    if (o.folder) params.set('folder', path.resolve(o.folder));
    const payload: [string, string][] = [...(o.payload ?? [])];
    const dev = o.extensionDevelopmentPath ?? opts.extensionDevelopmentPath;
    const tests = o.extensionTestsPath ?? opts.extensionTestsPath;
    if (dev) payload.push(['extensionDevelopmentPath', `vscode-remote://${authority}${path.resolve(dev)}`]);
    if (tests) payload.push(['extensionTestsPath', `vscode-remote://${authority}${path.resolve(tests)}`]);
    if (payload.length) params.set('payload', JSON.stringify(payload));
    const q = params.toString();
    return q ? `${baseUrl}?${q}` : baseUrl;
  };

  return { host, url, baseUrl, port, token, userDataDir, serverDataDir, extensionsDir, logFile, process: child, workbenchUrl, stop };
}
