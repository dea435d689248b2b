#!/usr/bin/env node
// `npm run bench [-- name ...]`: builds, starts (or reuses) the lab, then runs each benchmark in
// out/test/bench/*.js (all, or the names given) one after another, so they do not disturb each
// other. Each prints its own table of Wharf against the peer tools measured in the same run.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { checkNode, installArgs, needsInstall, repo, run, tool } from '../bootstrap.mjs';

async function main() {
  checkNode();
  const steps = [
    ...(needsInstall() ? [['npm', installArgs()]] : []),
    [process.execPath, ['esbuild.mjs', '--production']],
    [process.execPath, [tool.tsc(), '-p', 'tsconfig.test.json']],
    [process.execPath, [path.join(repo, 'out', 'test', 'lab', 'cli.js'), 'start']],
  ];
  for (const [command, args] of steps) {
    const code = await run(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (code !== 0) {
      console.error(`npm run bench: "${[command, ...args].join(' ')}" failed (exit ${code})`);
      return 1;
    }
  }
  const dir = path.join(repo, 'out', 'test', 'bench');
  const available = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.js') && name !== 'support.js' && !name.endsWith('.test.js')).map((name) => name.replace(/\.js$/, '')) : [];
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !available.includes(name));
  if (unknown.length) {
    console.error(`npm run bench: no benchmark named ${unknown.join(', ')} (have: ${available.join(', ')})`);
    return 2;
  }
  let failed = 0;
  for (const name of wanted.length ? wanted : available) {
    console.log(`\n=== bench ${name}`);
    const code = await run(process.execPath, [path.join(dir, `${name}.js`)]);
    if (code !== 0) failed++;
  }
  console.log(`\n${failed ? `${failed} benchmark(s) failed or missed a target` : 'all benchmarks ran'}`);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code));
