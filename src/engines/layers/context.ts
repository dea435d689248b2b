/**
 * The build context as the engine will see it: the files left after .dockerignore, with the
 * checksums the classic builder computes for them. The builder hashes each tar entry (tarsum v1:
 * selected header fields, then the content) and writes `file:<sum>`, `dir:<sum>` or `multi:<sum>`
 * into the COPY/ADD step's command, which is what its cache compares. Wharf sends the very tar it
 * hashes (see contextTar.ts), so a predicted sum is the sum the builder will compute.
 */
import ignore from '@balena/dockerignore';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { WharfError } from '../core/errors';

export interface ContextEntry {
  /** Forward-slash path relative to the context root, no trailing slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits only (what goes in the tar header). */
  mode: number;
  size: number;
  mtime: number;
  linkTarget?: string;
}

export class BuildContext {
  private readonly sums = new Map<string, Promise<string>>();
  private constructor(
    readonly root: string,
    readonly entries: ContextEntry[],
    private readonly byPath: Map<string, ContextEntry>,
    /** Patterns from .dockerignore, for suggestions. */
    readonly ignorePatterns: string[],
  ) {}

  static async open(root: string, options: { dockerfile?: string } = {}): Promise<BuildContext> {
    const absolute = path.resolve(root);
    const stat = await lstat(absolute).catch(() => undefined);
    if (!stat?.isDirectory()) {
      throw new WharfError({ code: 'not-found', object: `build context ${absolute}`, cause: 'no such folder', remedy: 'Pass the folder the Dockerfile copies from (--context DIR)' });
    }
    const patterns = await readIgnore(absolute);
    const ig = ignore({ ignorecase: false }).add(patterns);
    // The docker CLI always sends the Dockerfile and .dockerignore, even when .dockerignore lists them.
    const keep = new Set(['.dockerignore', options.dockerfile ? toSlash(path.relative(absolute, path.resolve(options.dockerfile))) : 'Dockerfile']);
    const entries: ContextEntry[] = [];
    await walk(absolute, '', ig, keep, entries);
    return new BuildContext(absolute, entries, new Map(entries.map((entry) => [entry.path, entry])), patterns);
  }

  get(relPath: string): ContextEntry | undefined {
    return this.byPath.get(relPath);
  }

  /** Entries at or below a path ('' = everything), in tar order. */
  under(relPath: string): ContextEntry[] {
    if (!relPath) return this.entries;
    const prefix = `${relPath}/`;
    return this.entries.filter((entry) => entry.path === relPath || entry.path.startsWith(prefix));
  }

  /** The tar header name: directories end with a slash, as the docker CLI writes them. */
  static tarName(entry: ContextEntry): string {
    return entry.type === 'dir' ? `${entry.path}/` : entry.path;
  }

  /** tarsum v1 of one entry: the builder's per-file checksum. */
  sum(entry: ContextEntry): Promise<string> {
    let sum = this.sums.get(entry.path);
    if (!sum) {
      sum = tarsum(this.root, entry);
      this.sums.set(entry.path, sum);
    }
    return sum;
  }

  /**
   * The source hash the classic builder writes for COPY/ADD sources: one source gives `file:` or
   * `dir:`, several give `multi:`. Returns the files the sources cover, for naming changed ones.
   */
  async sourceHash(sources: string[]): Promise<{ hash: string; files: Record<string, string>; missing: string[] }> {
    const hashes: string[] = [];
    const files: Record<string, string> = {};
    const missing: string[] = [];
    for (const source of sources) {
      const clean = cleanSource(source);
      const matches = hasWildcard(clean) ? this.entries.filter((entry) => globMatch(clean, entry.path)) : [this.get(clean) ?? (clean === '' ? ROOT : undefined)].filter(isDefined);
      if (matches.length === 0) missing.push(source);
      for (const match of matches) {
        if (match.type !== 'dir') {
          const sum = await this.sum(match);
          files[match.path] = sum;
          hashes.push(`file:${sum}`);
          continue;
        }
        const subSums: string[] = [];
        for (const entry of this.under(match.path)) {
          if (entry === ROOT || (match === ROOT && entry.path === '')) continue;
          const sum = await this.sum(entry);
          subSums.push(sum);
          if (entry.type !== 'dir') files[entry.path] = sum;
        }
        subSums.sort();
        hashes.push(`dir:${sha256(subSums.join(','))}`);
      }
    }
    const hash = hashes.length === 1 ? hashes[0] : `multi:${sha256(hashes.join(','))}`;
    return { hash, files, missing };
  }
}

const ROOT: ContextEntry = { path: '', type: 'dir', mode: 0o755, size: 0, mtime: 0 };

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

async function readIgnore(root: string): Promise<string[]> {
  const text = await readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '');
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

async function walk(root: string, rel: string, ig: ReturnType<typeof ignore>, keep: Set<string>, out: ContextEntry[]): Promise<void> {
  const names = (await readdir(path.join(root, rel))).sort();
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    const full = path.join(root, childRel);
    const stat = await lstat(full);
    const ignored = !keep.has(childRel) && ig.ignores(childRel);
    if (stat.isDirectory()) {
      if (!ignored) out.push({ path: childRel, type: 'dir', mode: stat.mode & 0o7777, size: 0, mtime: Math.floor(stat.mtimeMs / 1000) });
      // An ignored folder is still walked when a `!` exception may bring back something inside it.
      if (!ignored || hasExceptions(ig)) await walk(root, childRel, ig, keep, out);
    } else if (!ignored) {
      if (stat.isSymbolicLink()) {
        out.push({ path: childRel, type: 'symlink', mode: stat.mode & 0o7777, size: 0, mtime: Math.floor(stat.mtimeMs / 1000), linkTarget: await readlink(full) });
      } else if (stat.isFile()) {
        out.push({ path: childRel, type: 'file', mode: stat.mode & 0o7777, size: stat.size, mtime: Math.floor(stat.mtimeMs / 1000) });
      }
    }
  }
}

const exceptionCache = new WeakMap<object, boolean>();
function hasExceptions(ig: ReturnType<typeof ignore>): boolean {
  let value = exceptionCache.get(ig);
  if (value === undefined) {
    // The library keeps its rules private; a negated rule shows as one that un-ignores a path.
    value = JSON.stringify((ig as unknown as { _rules?: unknown })._rules ?? []).includes('"negative":true');
    exceptionCache.set(ig, value);
  }
  return value;
}

/** The header fields tarsum v1 hashes, in its order (mtime excluded; uname and gname blanked). */
export function tarsumHeader(entry: ContextEntry): string {
  const typeflag = entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0';
  const size = entry.type === 'file' ? entry.size : 0;
  return `name${BuildContext.tarName(entry)}mode${entry.mode}uid0gid0size${size}typeflag${typeflag}linkname${entry.linkTarget ?? ''}unamegnamedevmajor0devminor0`;
}

async function tarsum(root: string, entry: ContextEntry): Promise<string> {
  const hash = createHash('sha256').update(tarsumHeader(entry));
  if (entry.type === 'file') {
    for await (const chunk of createReadStream(path.join(root, entry.path))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function toSlash(value: string): string {
  return value.split(path.sep).join('/');
}

/** `./src/`, `/src` and `src` name the same context path; `.` is the root. */
export function cleanSource(source: string): string {
  const normal = path.posix.normalize(`/${source}`).replace(/\/+$/, '');
  return normal.slice(1);
}

function hasWildcard(value: string): boolean {
  return /[*?[]/.test(value);
}

/** Go's filepath.Match on slash paths: `*` and `?` stop at `/`, `[...]` classes. */
export function globMatch(pattern: string, value: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) return false;
      source += `[${pattern.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(value);
}
