// Shared first steps of `npm test` and `npm run lab` on a fresh clone: install the npm packages
// when they are missing or stale, then bundle and compile. Plain JavaScript with no dependencies.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repo, stdio: options.stdio ?? 'inherit', env: { ...process.env, ...options.env } });
    child.on('error', (error) => {
      console.error(`${command}: ${error.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function checkNode() {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new Error(`Node ${process.version} is too old: Wharf needs Node 20 or newer (https://nodejs.org).`);
}

export function needsInstall() {
  const marker = path.join(repo, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  const lock = path.join(repo, 'package-lock.json');
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
}

export const tool = {
  tsc: () => path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
  eslint: () => path.join(repo, 'node_modules', 'eslint', 'bin', 'eslint.js'),
  vsce: () => path.join(repo, 'node_modules', '@vscode', 'vsce', 'vsce'),
};

export function installArgs() {
  return [existsSync(path.join(repo, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund'];
}
