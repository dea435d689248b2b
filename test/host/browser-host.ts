#!/usr/bin/env node
/**
 * A stand-in for the VS Code executable that @vscode/test-electron's runTests()
 * spawns (pass out/test/host/browser-host.js as `vscodeExecutablePath`).
 *
 * It reads the arguments runTests passes:
 *   --extensionDevelopmentPath=DIR (repeatable), --extensionTestsPath=FILE,
 *   --user-data-dir=DIR, --extensions-dir=DIR, a positional workspace folder
 *   (from launchArgs) or --folder-uri=file:///DIR; everything else is ignored.
 * Then it starts the VS Code server of code-server in test mode, opens the
 * workbench in headless Chromium with the extension under development and the
 * test module in the payload, copies the workbench's automation log to stdout
 * and exits with the code the workbench reports (codeAutomationExit).
 *
 * Both processes are always cleaned up: on success, failure, timeout
 * (WHARF_HOST_TIMEOUT_MS, default 10 min), SIGTERM, SIGINT and SIGHUP.
 * WHARF_HOST_VERBOSE=1 also echoes the server's output and the page console to stderr.
 */
import * as fs from 'fs';
import * as path from 'path';
import { format } from 'util';
import { fileURLToPath } from 'url';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import { ensureVsCodeHost } from './install';
import { startVsCodeServer, type VsCodeServer } from './server';

export interface HostArgs {
  extensionDevelopmentPaths: string[];
  extensionTestsPath?: string;
  userDataDir?: string;
  extensionsDir?: string;
  folder?: string;
}

export function parseHostArgs(argv: string[]): HostArgs {
  const out: HostArgs = { extensionDevelopmentPaths: [] };
  const value = (a: string, name: string, i: number): string | undefined => {
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    if (a === `--${name}`) return argv[i + 1];
    return undefined;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let v: string | undefined;
    if ((v = value(a, 'extensionDevelopmentPath', i)) !== undefined) out.extensionDevelopmentPaths.push(path.resolve(v));
    else if ((v = value(a, 'extensionTestsPath', i)) !== undefined) out.extensionTestsPath = path.resolve(v);
    else if ((v = value(a, 'user-data-dir', i)) !== undefined) out.userDataDir = path.resolve(v);
    else if ((v = value(a, 'extensions-dir', i)) !== undefined) out.extensionsDir = path.resolve(v);
    else if ((v = value(a, 'folder-uri', i)) !== undefined) out.folder = v.startsWith('file:') ? fileURLToPath(v) : v;
    else if (!a.startsWith('-') && out.folder === undefined && (i === 0 || !/^--(extensionDevelopmentPath|extensionTestsPath|user-data-dir|extensions-dir|folder-uri)$/.test(argv[i - 1]))) {
      out.folder = path.resolve(a);
    }
  }
  return out;
}

/** The workbench logs arrive as console-style argument lists ("%s%s", a, b). */
function fmt(args: unknown): string {
  const list = Array.isArray(args) ? args : [args];
  return format(...list);
}

/**
 * Workbench chatter that is expected in an offline test host (no gallery, no GitHub
 * sign-in, chat/agent features). Dropped from stdout; the full log is always in
 * workbench.log next to the server log, and WHARF_HOST_VERBOSE=1 shows everything.
 */
const NOISE = [
  /^\[AgentHost/,
  /^\[ChatModelSelection\]/,
  /^\[AccountPolicyGate\]/,
  /^\[reconnection-grace-time\]/,
  /^Creating a socket \(/,
  /^Resolv(ing|ed) connection token/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\] registration/,
  /getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
  /^Timed out waiting for authentication provider/,
];

async function main(): Promise<number> {
  const args = parseHostArgs(process.argv.slice(2));
  const verbose = !!process.env.WHARF_HOST_VERBOSE && process.env.WHARF_HOST_VERBOSE !== '0';
  const timeoutMs = Number(process.env.WHARF_HOST_TIMEOUT_MS) || 10 * 60_000;
  if (!args.extensionTestsPath) {
    console.error('browser-host: --extensionTestsPath=... is required (this host only runs extension tests)');
    return 2;
  }

  const host = await ensureVsCodeHost();
  console.log(`browser-host: VS Code ${host.version} (code-server web host, Node 24 at ${host.node24})`);

  let server: VsCodeServer | undefined;
  let browser: Browser | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await browser?.close().catch(() => undefined);
      await server?.stop().catch(() => undefined);
    })());
  const onSignal = (sig: NodeJS.Signals, code: number) => () => {
    console.error(`browser-host: ${sig}, cleaning up`);
    void cleanup().finally(() => process.exit(code));
  };
  process.once('SIGTERM', onSignal('SIGTERM', 143));
  process.once('SIGINT', onSignal('SIGINT', 130));
  process.once('SIGHUP', onSignal('SIGHUP', 129));

  let timer: NodeJS.Timeout | undefined;
  let closeLog = async (): Promise<void> => undefined;
  try {
    const userDataDir = args.userDataDir ?? path.resolve('.vscode-test', 'user-data');
    const serverLogDir = path.dirname(userDataDir);
    server = await startVsCodeServer({
      testMode: true,
      userDataDir,
      serverDataDir: `${userDataDir}-server`,
      extensionsDir: args.extensionsDir ?? path.join(path.dirname(userDataDir), 'extensions'),
      logFile: path.join(serverLogDir, 'browser-host-server.log'),
      echo: verbose ? process.stderr : undefined,
      userSettings: {
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'chat.disableAIFeatures': true,
      },
    });
    if (verbose) console.error(`browser-host: server ${server.baseUrl}, log ${server.logFile}`);

    const url = server.workbenchUrl({
      folder: args.folder,
      payload: [
        ...args.extensionDevelopmentPaths.map((p): [string, string] => ['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${server!.port}${p}`]),
        ['extensionTestsPath', `vscode-remote://127.0.0.1:${server.port}${args.extensionTestsPath}`],
      ],
    });

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const exitCode = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => {
        resolve(typeof code === 'number' ? code : 1);
      });
      page.on('crash', () => {
        console.error('browser-host: the page crashed');
        resolve(1);
      });
      page.on('close', () => resolve(1));
      timer = setTimeout(() => {
        console.error(`browser-host: no result after ${timeoutMs} ms (WHARF_HOST_TIMEOUT_MS), giving up`);
        resolve(1);
      }, timeoutMs);
    });
    const workbenchLog = fs.createWriteStream(path.join(serverLogDir, 'browser-host-workbench.log'));
    closeLog = () => new Promise<void>((r) => workbenchLog.end(r));
    await page.exposeFunction('codeAutomationLog', (type: string, a: unknown) => {
      const line = `${type === 'error' || type === 'warn' ? `[${type}] ` : ''}${fmt(a)}\n`;
      workbenchLog.write(line);
      if (verbose || !NOISE.some((re) => re.test(fmt(a)))) process.stdout.write(line);
    });
    if (verbose) {
      page.on('console', (m) => process.stderr.write(`[page:${m.type()}] ${m.text()}\n`));
      page.on('pageerror', (e) => process.stderr.write(`[page:error] ${e.message}\n`));
    }
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const code = await exitCode;
    return code;
  } finally {
    if (timer) clearTimeout(timer);
    await cleanup();
    await closeLog();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`browser-host: ${e instanceof Error ? (e.stack ?? e.message) : e}`);
      process.exit(1);
    },
  );
}

/** Path of the compiled executable, made executable (tsc does not set the mode). */
export function browserHostExecutable(): string {
  const js = path.join(__dirname, 'browser-host.js');
  fs.chmodSync(js, 0o755);
  return js;
}
