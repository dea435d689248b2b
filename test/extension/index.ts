/**
 * The extension-host test entry (extensionTestsPath = out/test/extension/index.js).
 * VS Code calls run() inside the extension host, with the extension under
 * development loaded. It runs every out/test/extension/**\/*.test.js with mocha
 * (TDD interface: suite/test/setup/teardown, 60 s timeout) and writes
 * { passed, failed, failures: [{ title, error }] } as JSON to $WHARF_TEST_RESULTS
 * (else to results.json next to this file), then rejects if anything failed.
 * WHARF_TEST_GREP narrows the run to matching test titles.
 */
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export interface TestResults {
  passed: number;
  failed: number;
  pending: number;
  failures: { title: string; error: string }[];
  host: { vscodeVersion: string; node: string; appName: string; uiKind: string };
}

export function defaultResultsPath(): string {
  return path.join(__dirname, 'results.json');
}

/** `WHARF_EXTENSION_SUITE=bench` runs the *.bench.js files instead (npm run bench, never npm test). */
const SUFFIX = process.env.WHARF_EXTENSION_SUITE === 'bench' ? '.bench.js' : '.test.js';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(p));
    else if (entry.isFile() && entry.name.endsWith(SUFFIX)) out.push(p);
  }
  return out.sort();
}

export async function run(): Promise<void> {
  // Loaded lazily so this module also loads outside VS Code (for its types).
  const vscode = await import('vscode');
  const resultsPath = process.env.WHARF_TEST_RESULTS || defaultResultsPath();
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  if (process.env.WHARF_TEST_GREP) mocha.grep(process.env.WHARF_TEST_GREP);
  for (const f of findTests(__dirname)) mocha.addFile(f);

  const results: TestResults = {
    passed: 0,
    failed: 0,
    pending: 0,
    failures: [],
    host: { vscodeVersion: vscode.version, node: process.version, appName: vscode.env.appName, uiKind: vscode.UIKind[vscode.env.uiKind] },
  };
  const write = () => {
    fs.mkdirSync(path.dirname(resultsPath), { recursive: true });
    fs.writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');
  };

  try {
    await mocha.loadFilesAsync();
    await new Promise<void>((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('pass', () => results.passed++);
      runner.on('pending', () => results.pending++);
      runner.on('fail', (t: Mocha.Runnable, err: Error) => {
        results.failed++;
        results.failures.push({ title: t.fullTitle(), error: (err && (err.stack || err.message)) || String(err) });
      });
    });
  } catch (e) {
    results.failed++;
    results.failures.push({ title: '(loading the test files)', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
  write();
  if (results.failed > 0) throw new Error(`${results.failed} extension test(s) failed`);
}
