// Child processes for the lab: one-shot commands and detached daemons that outlive the
// Node process which started them (tests and the CLI come and go; the lab stays).
import { spawn } from 'node:child_process';
import { promises as fs, constants as fsc, openSync, closeSync, writeSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { LabError } from './errors';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** A clean environment for what we start: no DOCKER_HOST or similar leaking in from the caller. */
export function labEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

/** Runs a command (argument array, never a shell) and collects its output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? labEnv(),
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but a non-zero exit becomes an Error carrying the command and its stderr. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-4).join(' | ');
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${detail}`);
  }
  return r.stdout;
}

export function logFileOf(root: string, part: string): string {
  return path.join(root, 'logs', `${part}.log`);
}

export function pidFileOf(root: string, part: string): string {
  return path.join(root, 'run', `${part}.pid`);
}

export interface DaemonSpec {
  part: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts a daemon detached (own session, output appended to logs/<part>.log) and records its pid
 * in run/<part>.pid, so any later process can stop exactly it.
 */
export async function startDaemon(root: string, spec: DaemonSpec): Promise<number> {
  const logFile = logFileOf(root, spec.part);
  await fs.mkdir(path.dirname(logFile), { recursive: true });
  await fs.mkdir(path.join(root, 'run'), { recursive: true });
  const fd = openSync(logFile, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND, 0o644);
  writeSync(fd, `--- ${new Date().toISOString()} ${spec.cmd} ${spec.args.join(' ')}\n`);
  try {
    const child = spawn(spec.cmd, spec.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? labEnv(),
      cwd: spec.cwd ?? root,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) =>
        reject(new LabError(spec.part, `cannot run ${spec.cmd}: ${e.message}`, 'install the package that provides it')),
      );
    });
    child.unref();
    const pid = child.pid as number;
    await fs.writeFile(pidFileOf(root, spec.part), `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

export async function readPid(file: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await fs.readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a zombie has exited; only its parent has not reaped it yet). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pid belongs to this lab when its command line names the lab's root (guards against pid reuse). */
export async function ownedBy(pid: number, root: string): Promise<boolean> {
  try {
    const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    return cmdline.includes(root);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitDead(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await isAlive(pid))) return true;
    await sleep(100);
  }
  return !(await isAlive(pid));
}

/** SIGTERM, then SIGKILL after graceMs. Says how it went: 'gone', 'term', 'kill' or 'alive'. */
export async function stopPid(pid: number, graceMs = 5000): Promise<'gone' | 'term' | 'kill' | 'alive'> {
  if (!(await isAlive(pid))) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  if (await waitDead(pid, graceMs)) return 'term';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'term';
  }
  return (await waitDead(pid, 3000)) ? 'kill' : 'alive';
}

/** Stops the daemon recorded in run/<part>.pid if it is still ours; removes the pid file. */
export async function stopPart(root: string, part: string, graceMs = 5000): Promise<string | undefined> {
  const file = pidFileOf(root, part);
  const pid = await readPid(file);
  if (pid === undefined) return undefined;
  let note: string;
  if (!(await isAlive(pid))) note = `${part}: pid ${pid} already gone`;
  else if (!(await ownedBy(pid, root))) note = `${part}: pid ${pid} is no longer ours, left alone`;
  else {
    const t0 = Date.now();
    const how = await stopPid(pid, graceMs);
    const ms = Date.now() - t0;
    note = how === 'alive' ? `${part}: pid ${pid} would not die` : `${part}: stopped pid ${pid} (${how === 'kill' ? 'SIGKILL' : 'SIGTERM'}, ${ms} ms)`;
  }
  await fs.rm(file, { force: true });
  return note;
}

export async function logTail(root: string, part: string, lines = 4): Promise<string> {
  try {
    const text = await fs.readFile(logFileOf(root, part), 'utf8');
    const recent = text.trimEnd().split('\n').slice(-30);
    // Daemons log a lot of noise: keep the lines that say what went wrong, then the very last one.
    const telling = recent.filter((l) => /error|fatal|fail|panic|emerg|cannot|denied|refused|in use|no such/i.test(l));
    const pick = [...new Set([...telling.slice(-(lines - 1)), recent[recent.length - 1]])];
    return pick.map((l) => l.trim().slice(0, 300)).join(' | ');
  } catch {
    return '(no log)';
  }
}

export interface WaitOptions {
  root: string;
  part: string;
  pid?: number;
  timeoutMs?: number;
  wayOut?: string;
}

/**
 * Polls check() until it holds. Fails early when the daemon has exited, with the tail of its log,
 * so the error says why rather than just "timed out".
 */
export async function waitUntil(check: () => Promise<boolean>, o: WaitOptions): Promise<void> {
  const until = Date.now() + (o.timeoutMs ?? 30_000);
  const wayOut = o.wayOut ?? `read ${logFileOf(o.root, o.part)}, then run the lab's stop and start again`;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (o.pid !== undefined && !(await isAlive(o.pid))) {
      throw new LabError(o.part, `exited during start; log: ${await logTail(o.root, o.part)}`, wayOut);
    }
    if (Date.now() > until) {
      throw new LabError(o.part, `no answer after ${o.timeoutMs ?? 30_000} ms; log: ${await logTail(o.root, o.part)}`, wayOut);
    }
    await sleep(200);
  }
}

export function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET over TCP (url) or over a unix socket (socketPath + path). */
export function httpGet(
  target: { url: string } | { socketPath: string; path: string },
  timeoutMs = 2000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const opts: http.RequestOptions =
      'url' in target ? {} : { socketPath: target.socketPath, path: target.path, host: 'localhost' };
    const req =
      'url' in target ? http.get(target.url, { timeout: timeoutMs, agent: false }) : http.get({ ...opts, timeout: timeoutMs, agent: false });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function httpOk(target: { url: string } | { socketPath: string; path: string }): Promise<boolean> {
  try {
    const r = await httpGet(target);
    return r.status >= 200 && r.status < 300;
  } catch {
    return false;
  }
}
