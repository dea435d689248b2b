/**
 * Reusable helper for UI tests against the real VS Code workbench (code-server's
 * VS Code server in headless Chromium) with the extension under development.
 *
 *   const wb = await openWorkbench();          // extension = checkout (or WHARF_EXTENSION_PATH)
 *   await wb.openViewContainer('Wharf');
 *   await wb.screenshot('wharf-views');        // -> <repo>/test-results/screenshots/wharf-views.png
 *   await wb.close();
 *
 * The extension must be built (dist/extension.js) beforehand.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from '../host/browser';
import { repoRoot } from '../host/install';
import { startVsCodeServer, type VsCodeServer, type VsCodeServerOptions } from '../host/server';

export interface WorkbenchOptions {
  /** Default: $WHARF_EXTENSION_PATH or the checkout. */
  extensionDevelopmentPath?: string;
  /** Folder to open. Default: a new temp folder with a Dockerfile. */
  folder?: string;
  /**
   * Keep workspace trust on and open the folder untrusted (Restricted Mode), with the
   * startup trust prompt suppressed. Default false: trust is off, as in the extension tests.
   */
  restricted?: boolean;
  machineSettings?: Record<string, unknown>;
  userSettings?: Record<string, unknown>;
  server?: VsCodeServerOptions;
  viewport?: { width: number; height: number };
  /** Echo the page console to stderr. Default: $WHARF_HOST_VERBOSE. */
  verbose?: boolean;
}

export interface Workbench {
  page: Page;
  browser: Browser;
  server: VsCodeServer;
  folder: string;
  /** Clicks an activity-bar entry by its title (e.g. "Wharf") and waits for its side bar. */
  openViewContainer(title: string): Promise<void>;
  /** The side bar's view pane header titles, in order. */
  viewPaneTitles(): Promise<string[]>;
  /** A view pane (header + body) by its title. */
  viewPane(title: string): Locator;
  /** Waits (up to timeoutMs, default 30 s; never throws) until the status bar stops saying "Activating Extensions". */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Saves <repo>/test-results/screenshots/<name>.png and returns the path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export function screenshotDir(): string {
  return path.join(repoRoot(), 'test-results', 'screenshots');
}

export async function openWorkbench(opts: WorkbenchOptions = {}): Promise<Workbench> {
  const verbose = opts.verbose ?? (!!process.env.WHARF_HOST_VERBOSE && process.env.WHARF_HOST_VERBOSE !== '0');
  const extensionDevelopmentPath = path.resolve(opts.extensionDevelopmentPath ?? (process.env.WHARF_EXTENSION_PATH || repoRoot()));
  let tmpFolder: string | undefined;
  let folder = opts.folder;
  if (!folder) {
    tmpFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-ui-ws-'));
    folder = path.join(tmpFolder, 'workspace');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'Dockerfile'), 'FROM scratch\n');
  }
  const userSettings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    ...(opts.restricted ? { 'security.workspace.trust.startupPrompt': 'never' } : {}),
    ...opts.userSettings,
  };
  const server = await startVsCodeServer({
    token: undefined, // random token: the page gets it through the URL
    workspaceTrust: !!opts.restricted,
    smokeTestDriver: true, // the payload (extension under development) needs it
    extensionDevelopmentPath,
    userSettings,
    machineSettings: opts.machineSettings,
    echo: verbose ? process.stderr : undefined,
    ...opts.server,
  });
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await server.stop();
    if (tmpFolder) fs.rmSync(tmpFolder, { recursive: true, force: true });
  };
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
    // The smoke-test driver calls these; give them a home so the page never throws.
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
      if (verbose) process.stderr.write(`[automation:${type}] ${JSON.stringify(args)}\n`);
    });
    await page.exposeFunction('codeAutomationExit', () => undefined);
    if (verbose) {
      page.on('console', (m) => process.stderr.write(`[page:${m.type()}] ${m.text()}\n`));
      page.on('pageerror', (e) => process.stderr.write(`[page:error] ${e.message}\n`));
    }
    await page.goto(server.workbenchUrl({ folder }), { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: 90_000 });

    const sidebar = page.locator('.monaco-workbench .part.sidebar');
    const wb: Workbench = {
      page,
      browser,
      server,
      folder,
      async openViewContainer(title) {
        const item = page.locator(`.part.activitybar .action-item a[aria-label="${title}"], .part.activitybar .action-item a[aria-label^="${title} ("]`).first();
        await item.waitFor({ state: 'visible', timeout: 60_000 });
        const selected = await item.locator('xpath=..').getAttribute('aria-selected').catch(() => null);
        if (selected !== 'true') await item.click();
        await sidebar.waitFor({ state: 'visible', timeout: 30_000 });
        await sidebar.locator('.composite.title .title-label', { hasText: title }).first().waitFor({ state: 'attached', timeout: 30_000 });
      },
      async viewPaneTitles() {
        return (await sidebar.locator('.pane-header .title').allTextContents()).map((t) => t.trim());
      },
      viewPane(title) {
        return sidebar.locator('.pane', { has: page.locator('.pane-header .title', { hasText: title }) });
      },
      async waitForIdle(timeoutMs = 30_000) {
        await page
          .locator('.part.statusbar', { hasText: 'Activating Extensions' })
          .waitFor({ state: 'detached', timeout: timeoutMs })
          .catch(() => undefined);
      },
      async screenshot(name) {
        const file = path.join(screenshotDir(), `${name}.png`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await page.screenshot({ path: file });
        return file;
      },
      close,
    };
    return wb;
  } catch (e) {
    await close();
    throw e;
  }
}
