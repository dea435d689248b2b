/**
 * The last build of each Dockerfile: per step the cache outcome, the image it produced, its size and
 * time, and for COPY/ADD the checksums of the files it copied (so the next miss can name the file).
 * Kept as one small JSON file per Dockerfile in a folder the caller picks (the extension's storage,
 * or ~/.local/state/wharf for the CLI), never in the user's project.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export type CacheOutcome = 'hit' | 'miss' | 'base' | 'failed' | 'not-run' | 'unknown';

export type MissCause =
  | { kind: 'instruction-changed'; message: string; previous?: string }
  | { kind: 'source-changed'; message: string; files: string[] }
  | { kind: 'parent-changed'; message: string }
  | { kind: 'no-cache'; message: string }
  | { kind: 'no-cached-layer'; message: string }
  | { kind: 'base-missing'; message: string }
  | { kind: 'unpredictable'; message: string };

export interface StepRecord {
  step: number;
  keyword: string;
  /** The instruction as written (continuations joined). */
  text: string;
  line: number;
  endLine: number;
  stage: number;
  cache: CacheOutcome;
  /** Full image id the step produced (or reused). */
  imageId?: string;
  /** Bytes of the layer the step made (0 for metadata steps). */
  size?: number;
  durationMs?: number;
  /** COPY/ADD: the builder's source hash and the per-file checksums behind it. */
  sourceHash?: string;
  files?: Record<string, string>;
}

export interface BuildRecord {
  version: 1;
  dockerfile: string;
  context: string;
  engine: string;
  tag?: string;
  startedAt: string;
  finishedAt: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  noCache: boolean;
  imageId?: string;
  /** Image id each stage's FROM resolved to. */
  baseImageIds: (string | undefined)[];
  steps: StepRecord[];
  error?: { message: string; step?: number; line?: number; endLine?: number };
  firstMiss?: { step: number; line: number; cause: MissCause };
  /** How many recorded builds saw each context file change: drives the .dockerignore and order advice. */
  churn: Record<string, number>;
  builds: number;
}

export function defaultRecordDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'wharf', 'builds');
}

export class BuildRecordStore {
  constructor(readonly dir: string = defaultRecordDir()) {}

  fileFor(dockerfile: string): string {
    const key = createHash('sha256').update(path.resolve(dockerfile)).digest('hex').slice(0, 16);
    return path.join(this.dir, `${path.basename(dockerfile).replace(/[^\w.-]/g, '_')}-${key}.json`);
  }

  async read(dockerfile: string): Promise<BuildRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.fileFor(dockerfile), 'utf8')) as BuildRecord;
      return record.version === 1 ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Atomic: a reader never sees half a record. */
  async write(record: BuildRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = this.fileFor(record.dockerfile);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(record, null, 1));
    await rename(tmp, file);
  }
}
