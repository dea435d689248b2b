/**
 * The commit a build is for: HEAD's SHA, short SHA and branch, read with `git` (execFile, argv), and
 * a post-commit trigger that watches the reflog (`<git dir>/logs/HEAD`) instead of installing a hook
 * in the user's repository. The reflog says what moved HEAD ("commit:", "checkout:", "reset:"), so a
 * checkout or a reset does not start a build.
 */
import { execFile } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import path from 'node:path';
import { WharfError, messageOf } from '../core/errors';

export interface HeadInfo {
  /** The repository's top folder. */
  root: string;
  sha: string;
  shortSha: string;
  /** Undefined on a detached HEAD. */
  branch?: string;
  subject: string;
}

function git(cwd: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, signal, maxBuffer: 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve(String(stdout).trim());
    });
  });
}

function gitError(error: unknown, dir: string): WharfError {
  const code = (error as NodeJS.ErrnoException).code;
  const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
  if (code === 'ENOENT' && !stderr) return new WharfError({ code: 'not-found', object: 'git', cause: 'the git program is not installed', remedy: 'Install git (apt-get install git)', inner: error });
  if (/not a git repository/i.test(stderr)) return new WharfError({ code: 'bad-input', object: `folder ${dir}`, cause: 'is not a git repository', remedy: 'Open the repository folder, or run git init', inner: error });
  if (/unknown revision|ambiguous argument 'HEAD'|does not have any commits/i.test(stderr)) {
    return new WharfError({ code: 'bad-input', object: `repository ${dir}`, cause: 'has no commits yet', remedy: 'Commit first: the image is tagged with the commit', inner: error });
  }
  return new WharfError({ code: 'failed', object: `repository ${dir}`, cause: stderr || messageOf(error), inner: error });
}

/** Reads HEAD: full and short SHA (git's own abbreviation, unique in this repository) and the branch. */
export async function readHead(dir: string, signal?: AbortSignal): Promise<HeadInfo> {
  try {
    const root = await git(dir, ['rev-parse', '--show-toplevel'], signal);
    const [sha, shortSha, subject] = (await git(root, ['log', '-1', '--format=%H%n%h%n%s', 'HEAD'], signal)).split('\n');
    // symbolic-ref fails (exit 1, quiet) on a detached HEAD: that is not an error here.
    const branch = await git(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], signal).catch(() => undefined);
    return { root, sha, shortSha, branch: branch || undefined, subject: subject ?? '' };
  } catch (error) {
    throw gitError(error, dir);
  }
}

/** The absolute git dir (worktrees and submodules keep it elsewhere than `.git/`). */
export async function gitDir(dir: string, signal?: AbortSignal): Promise<string> {
  try {
    return await git(dir, ['rev-parse', '--absolute-git-dir'], signal);
  } catch (error) {
    throw gitError(error, dir);
  }
}

export interface ReflogEntry {
  oldSha: string;
  newSha: string;
  /** "commit", "commit (initial)", "commit (amend)", "checkout", "reset", "merge ...", "pull" ... */
  action: string;
  message: string;
}

/** One reflog line: "<old> <new> <who> <when> <tz>\t<action>: <message>". */
export function parseReflogLine(line: string): ReflogEntry | undefined {
  const match = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) [^\t]*\t(.*)$/.exec(line);
  if (!match) return undefined;
  const text = match[3];
  const colon = text.indexOf(': ');
  return { oldSha: match[1], newSha: match[2], action: colon < 0 ? text : text.slice(0, colon), message: colon < 0 ? '' : text.slice(colon + 2) };
}

/** What counts as "a commit was made": new commits, amends and merges; not checkouts, resets or rebases. */
export function isCommitEntry(entry: ReflogEntry): boolean {
  return /^(commit( \((initial|amend|merge)\))?|merge\b.*|cherry-pick|revert)$/.test(entry.action);
}

export interface CommitWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Stat polling interval; a reflog append is small, so polling one file is cheap and portable. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Calls `onCommit` for every commit made after the watch starts. Only the bytes appended to the
 * reflog since the last look are read. fs.watchFile (stat polling) is used rather than fs.watch:
 * it sees the file appear in a fresh repository and survives git's lock-and-rename writes.
 */
export async function watchCommits(dir: string, onCommit: (entry: ReflogEntry) => void, options: WatchOptions = {}): Promise<CommitWatcher> {
  const reflog = path.join(await gitDir(dir), 'logs', 'HEAD');
  let offset = await stat(reflog).then((s) => s.size, () => 0);
  let reading = Promise.resolve();
  const readNew = async (current: Stats) => {
    // Expired or rewritten: old entries are not new commits, so start over from its end.
    if (current.size < offset) offset = current.size;
    if (current.size === offset) return;
    const file = await open(reflog, 'r');
    try {
      const length = current.size - offset;
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, offset);
      // Only whole lines: a half-written line is read on the next change.
      const text = buffer.toString('utf8');
      const end = text.lastIndexOf('\n');
      if (end < 0) return;
      offset += Buffer.byteLength(text.slice(0, end + 1));
      for (const line of text.slice(0, end).split('\n')) {
        const entry = parseReflogLine(line);
        if (entry && isCommitEntry(entry)) onCommit(entry);
      }
    } finally {
      await file.close();
    }
  };
  const listener = (current: Stats) => {
    reading = reading.then(() => readNew(current)).catch((error) => options.onError?.(error));
  };
  watchFile(reflog, { interval: options.intervalMs ?? 1000, persistent: false }, listener);
  return { close: () => unwatchFile(reflog, listener) };
}
