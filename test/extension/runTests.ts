/**
 * Runs the extension-host tests (out/test/extension/**\/*.test.js) in a real VS Code.
 *
 *   node out/test/extension/runTests.js            # code-server web host + headless Chromium (default)
 *   WHARF_VSCODE_HOST=desktop node out/test/extension/runTests.js   # desktop VS Code, downloaded by @vscode/test-electron
 *
 * Needs `npx tsc -p tsconfig.test.json` and `node esbuild.mjs` first (dist/extension.js).
 * Prints the failures and a last line `extension tests: N passed, N failed`; exits 1 when
 * anything failed or the host did not finish. The results JSON goes to $WHARF_TEST_RESULTS
 * when the caller sets it (kept), else to a temp file.
 * Options (env): WHARF_EXTENSION_PATH (extension under test, default the checkout),
 * WHARF_TEST_GREP, WHARF_HOST_TIMEOUT_MS, WHARF_HOST_VERBOSE (browser host).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';
import { browserHostExecutable } from '../host/browser-host';
import { repoRoot } from '../host/install';
import type { TestResults } from './index';

/** What a bench passes to its extension-host suite (WHARF_EXTENSION_SUITE, WHARF_BENCH_*). */
function benchEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => /^WHARF_(EXTENSION_SUITE|BENCH_)/.test(entry[0]) && entry[1] !== undefined));
}

async function main(): Promise<number> {
  const repo = repoRoot();
  const extensionDevelopmentPath = path.resolve(process.env.WHARF_EXTENSION_PATH || repo);
  const extensionTestsPath = path.join(__dirname, 'index.js');
  const desktop = process.env.WHARF_VSCODE_HOST === 'desktop';

  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDevelopmentPath, 'package.json'), 'utf8'));
  if (manifest.main && !fs.existsSync(path.join(extensionDevelopmentPath, manifest.main))) {
    console.error(`extension tests: ${manifest.main} is missing in ${extensionDevelopmentPath}; run \`node esbuild.mjs\` first`);
    return 1;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-ext-test-'));
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace);
  fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n');
  const keepResults = !!process.env.WHARF_TEST_RESULTS;
  const resultsPath = path.resolve(process.env.WHARF_TEST_RESULTS || path.join(tmp, 'results.json'));
  fs.rmSync(resultsPath, { force: true });
  const fallbackPath = path.join(__dirname, 'results.json');
  fs.rmSync(fallbackPath, { force: true });

  let hostError: unknown;
  try {
    await runTests({
      ...(desktop ? {} : { vscodeExecutablePath: browserHostExecutable() }),
      extensionDevelopmentPath,
      extensionTestsPath,
      launchArgs: [workspace, ...(desktop ? ['--disable-extensions'] : [])],
      extensionTestsEnv: { WHARF_TEST_RESULTS: resultsPath, WHARF_TEST: '1', ...benchEnv() },
    });
  } catch (e) {
    hostError = e;
  }

  let results: TestResults | undefined;
  for (const p of [resultsPath, fallbackPath]) {
    if (fs.existsSync(p)) {
      results = JSON.parse(fs.readFileSync(p, 'utf8')) as TestResults;
      if (p !== resultsPath) console.error(`extension tests: WHARF_TEST_RESULTS did not reach the extension host; read ${p}`);
      break;
    }
  }
  if (!keepResults) fs.rmSync(tmp, { recursive: true, force: true });
  else fs.rmSync(workspace, { recursive: true, force: true });

  if (!results) {
    console.error(`extension tests: no results from the ${desktop ? 'desktop' : 'browser'} host (${hostError instanceof Error ? hostError.message : 'no error'})`);
    console.log('extension tests: 0 passed, 1 failed');
    return 1;
  }
  console.log(`extension tests ran in ${results.host.appName} ${results.host.vscodeVersion} (${results.host.uiKind} UI, extension host Node ${results.host.node})`);
  for (const f of results.failures) console.log(`\n  FAILED ${f.title}\n    ${f.error.split('\n').join('\n    ')}`);
  let failed = results.failed;
  if (hostError && failed === 0) {
    console.error(`extension tests: the host failed although every test passed: ${hostError instanceof Error ? hostError.message : hostError}`);
    failed = 1;
  }
  console.log(`extension tests: ${results.passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
