#!/usr/bin/env node
// `npm test`: installs what it needs, then typecheck, lint, engine tests against the lab, the
// extension-host suite inside a real VS Code, and the UI checks. Ends with "N passed, N failed"
// over every runner. Plain JavaScript with no dependencies, so it runs on a fresh clone.
import fs, { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { checkNode, installArgs, needsInstall, repo, run, tool } from './bootstrap.mjs';

const results = [];
const only = process.env.WHARF_TEST_ONLY?.split(',').filter(Boolean); // e.g. "engines,extension"

function record(runner, passed, failed, note = '') {
  results.push({ runner, passed, failed, note });
  const status = failed ? 'FAILED' : 'ok';
  console.log(`\n=== ${runner}: ${passed} passed, ${failed} failed ${status}${note ? ` (${note})` : ''}\n`);
}

async function step(runner, command, args, options) {
  console.log(`\n=== ${runner}: ${[command, ...args].join(' ')}`);
  const code = await run(command, args, options);
  record(runner, code === 0 ? 1 : 0, code === 0 ? 0 : 1, code === 0 ? '' : `exit ${code}`);
  return code === 0;
}

/** Runs node's test runner on a folder and counts its TAP summary. */
async function nodeTests(runner, folder) {
  const dir = path.join(repo, 'out', 'test', folder);
  if (!existsSync(dir)) {
    record(runner, 0, 1, `${path.relative(repo, dir)} is missing: the compile step failed`);
    return;
  }
  const tap = path.join(repo, 'test-results', `${folder}.tap`);
  rmSync(tap, { force: true });
  const files = listTests(dir);
  console.log(`\n=== ${runner}: ${files.length} files in ${path.relative(repo, dir)}`);
  const code = await run(process.execPath, [
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ]);
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  const [passed, failed, skipped, todo, cancelled] = ['pass', 'fail', 'skipped', 'todo', 'cancelled'].map(count);
  // A skipped test hides a missing part: count it as a failure.
  const bad = failed + skipped + todo + cancelled;
  const broken = code !== 0 && bad === 0 ? 1 : 0;
  record(runner, passed, bad + broken, [skipped && `${skipped} skipped`, cancelled && `${cancelled} cancelled`, broken && `runner exit ${code}`].filter(Boolean).join(', '));
}

function listTests(dir) {
  const found = [];
  for (const entry of readdirSorted(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listTests(full));
    else if (entry.name.endsWith('.test.js')) found.push(full);
  }
  return found;
}

function readdirSorted(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
}

async function extensionTests() {
  const file = path.join(repo, 'test-results', 'extension.json');
  rmSync(file, { force: true });
  console.log('\n=== extension host: out/test/extension/runTests.js');
  const code = await run(process.execPath, [path.join(repo, 'out', 'test', 'extension', 'runTests.js')], { env: { WHARF_TEST_RESULTS: file } });
  if (!existsSync(file)) {
    record('extension host', 0, 1, `no results (exit ${code}): the host did not start or run the suite; see above`);
    return;
  }
  const summary = JSON.parse(readFileSync(file, 'utf8'));
  const broken = code !== 0 && !summary.failed ? 1 : 0;
  record('extension host', summary.passed, summary.failed + broken, summary.vscodeVersion ? `VS Code ${summary.vscodeVersion}` : '');
}



async function main() {
  checkNode();
  mkdirSync(path.join(repo, 'test-results'), { recursive: true });
  if (needsInstall()) {
    if (!(await step('install', 'npm', installArgs()))) return finish();
  }
  await step('build', process.execPath, ['esbuild.mjs']);
  rmSync(path.join(repo, 'out'), { recursive: true, force: true });
  await step('typecheck', process.execPath, [tool.tsc(), '-p', 'tsconfig.test.json']);
  await step('lint', process.execPath, [tool.eslint(), 'src', 'test']);

  const want = (name) => !only || only.includes(name);
  let startedLab = false;
  const labCli = path.join(repo, 'out', 'test', 'lab', 'cli.js');
  if (want('engines') || want('extension') || want('ui')) {
    const before = existsSync(path.join(repo, '.wharf-lab', 'endpoints.json'))
      ? (await run(process.execPath, [labCli, 'status'], { stdio: 'ignore' })) === 0
      : false;
    const labOk = await step('lab', process.execPath, [labCli, 'start']);
    startedLab = labOk && !before;
    if (!labOk) {
      console.error('The lab could not start (see the reason above); the suites that need it are counted as failed.');
      for (const runner of ['engines', 'extension', 'ui'].filter(want)) record(runner, 0, 1, 'lab not running');
      return finish();
    }
  }
  try {
    if (want('engines')) await nodeTests('engines', 'engines');
    if (want('extension')) await extensionTests();
    if (want('ui')) await nodeTests('ui', 'ui');
  } finally {
    if (startedLab && !process.env.WHARF_KEEP_LAB) await run(process.execPath, [labCli, 'stop']);
  }
  finish();
}

function finish() {
  const passed = results.reduce((sum, result) => sum + result.passed, 0);
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  console.log('\n--- summary');
  for (const result of results) {
    console.log(`${result.runner.padEnd(16)} ${String(result.passed).padStart(4)} passed ${String(result.failed).padStart(3)} failed${result.note ? `  ${result.note}` : ''}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  record('runner', 0, 1, String(error?.message ?? error));
  finish();
});
