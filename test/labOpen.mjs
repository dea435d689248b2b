#!/usr/bin/env node
// `npm run lab` on a fresh clone: installs what it needs, packages Wharf, then hands over to
// out/test/openLab.js (the lab + a real VS Code with the packaged extension).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { checkNode, installArgs, needsInstall, repo, run, tool } from './bootstrap.mjs';

async function main() {
  checkNode();
  if (process.getuid?.() !== 0 && !process.argv.includes('--docker-host')) {
    console.error('npm run lab starts Docker engines, a network namespace and sshd: run it as root, or pass --docker-host unix:///var/run/docker.sock to browse your own engine.');
    return 1;
  }
  mkdirSync(path.join(repo, '.wharf-lab'), { recursive: true });
  const steps = [
    ...(needsInstall() ? [['npm', installArgs()]] : []),
    [process.execPath, ['esbuild.mjs', '--production']],
    [process.execPath, [tool.vsce(), 'package', '--no-dependencies', '-o', path.join('.wharf-lab', 'wharf.vsix')]],
    [process.execPath, [tool.tsc(), '-p', 'tsconfig.test.json']],
  ];
  for (const [command, args] of steps) {
    const code = await run(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (code !== 0) {
      console.error(`npm run lab: "${[command, ...args].join(' ')}" failed (exit ${code})`);
      return code;
    }
  }
  return run(process.execPath, [path.join(repo, 'out', 'test', 'openLab.js'), '--vsix', path.join(repo, '.wharf-lab', 'wharf.vsix'), ...process.argv.slice(2)]);
}

main().then((code) => process.exit(code));
