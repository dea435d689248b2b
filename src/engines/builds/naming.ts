/** Names for what a commit build makes: the image repository, tags from branches, the test argv. */
import path from 'node:path';
import { WharfError } from '../core/errors';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * A branch as a tag: characters a tag can't hold become "-", leading "." and "-" go (a tag can't
 * start with them), at most 128 characters. "feature/login" → "feature-login". Undefined when
 * nothing usable is left.
 */
export function branchTag(branch: string): string | undefined {
  const tag = branch
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .replace(/-{2,}/g, '-')
    .slice(0, 128)
    .replace(/[.-]+$/, '');
  return tag && TAG.test(tag) ? tag : undefined;
}

/** The image repository for a workspace: its folder name in the form Docker accepts. */
export function repositoryFor(workspace: string): string {
  const name = path
    .basename(path.resolve(workspace))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .replace(/[._-]{2,}/g, '-');
  return name || 'app';
}

export function assertRepository(repository: string): void {
  const ok = repository.split('/').every((part) => /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(part));
  if (!ok) throw new WharfError({ code: 'bad-input', object: `image repository "${repository}"`, cause: 'is not a valid name (lower case letters, digits, . _ - and /)', remedy: 'Pick a name like team/app' });
}

/**
 * Splits a command line into argv the way a shell would for quoting only: '...' and "..." group,
 * backslash escapes; no variables, globs, pipes or redirections (the command runs without a shell;
 * write `sh -c '...'` to get one).
 */
export function splitCommand(line: string): string[] {
  const argv: string[] = [];
  let current = '';
  let started = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else current += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && /["\\$`]/.test(line[index + 1] ?? '')) current += line[++index];
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      started = true;
    } else if (char === '\\' && index + 1 < line.length) {
      current += line[++index];
      started = true;
    } else if (/\s/.test(char)) {
      if (started) argv.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (quote) throw new WharfError({ code: 'bad-input', object: `test command "${line}"`, cause: `an unclosed ${quote} quote`, remedy: 'Close the quote' });
  if (started) argv.push(current);
  return argv;
}
