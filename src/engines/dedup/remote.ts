/**
 * The remote pool, driven over one ssh2 connection: each step is a fixed script from hostScripts.ts
 * run as `sh -c SCRIPT wharf-dedup POOL ARG` (argv, quoted by exec.ts), fed only on stdin.
 * A sync is one session: the host first answers what it holds (tools, leftovers, recipes, the plans
 * of the recipes we share), then takes the stream and loads while it arrives. Damaged segments are
 * found with `verify` and dropped with `remove` before a second stream; `gc` frees unused ones.
 */
import { createHash } from 'node:crypto';
import type { Client, ClientChannel } from 'ssh2';
import { WharfError, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { openExec } from '../ssh/exec';
import { GC, PLANS, PULL, REMOVE, SUMS, SYNC } from './hostScripts';
import type { OrphanSegment } from './hostPlan';
import { HEX64 } from './pool';
import { TarReader } from './tarReader';
import { WireWriter } from './wireWriter';

const WHY: Record<string, string> = {
  cat: 'joins the chunks back into the image archive',
  gzip: 'unpacks the chunk stream (it travels gzip-compressed)',
  tar: 'receives the segments and cuts the chunks back out of them',
  docker: 'loads the rebuilt image',
  mkdir: 'creates the pool folder',
  mv: 'moves received segments into the pool',
  rm: 'drops damaged segments',
};

export interface RemotePoolOptions {
  /** The pool folder on the host; default $HOME/.cache/wharf/pool there. */
  dir?: string;
  /**
   * PATH for the remote scripts (`env PATH=... sh -c ...`): for hosts whose tools live elsewhere,
   * and for tests that hide a tool. Only plain absolute folders are accepted.
   */
  path?: string;
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Bytes written to the script's stdin. */
  bytesIn: number;
}

export interface Prepared {
  /** Segments an interrupted sync left on the host outside any plan, with their chunk lists. */
  orphans: OrphanSegment[];
  /** The plans of the asked-for fingerprints the host holds. */
  plans: Map<string, string>;
  /** The id the host's engine gives the image, if it has it. */
  imageId?: string;
}

export interface StreamResult {
  /** Segments the host lacked although the plan named them. */
  missing: string[];
  /** Segments tar could not read members from (damaged). */
  unreadable: string[];
  /** The host's plan was stored under this fingerprint (the stream was whole). */
  stored?: string;
  loaded: boolean;
  id?: string;
  output: string;
  bytes: number;
  failure?: WharfError;
}

/** What a host keeps beside a plan (plans/<fingerprint>.tags): when and as what it was synced. */
export interface HostPlanNames {
  createdAt: string;
  imageId: string;
  tags: string[];
}

/** The .tags line a sync leaves beside its plan; tags are docker references, never with spaces. */
export function planNamesLine(names: HostPlanNames): string {
  return [names.createdAt, names.imageId, ...names.tags].join(' ');
}

function parsePlanNames(line: string): HostPlanNames | undefined {
  const [createdAt, imageId, ...tags] = line.trim().split(/\s+/);
  if (!createdAt || !/^sha256:[0-9a-f]{64}$/.test(imageId ?? '') || Number.isNaN(Date.parse(createdAt))) return undefined;
  return { createdAt, imageId, tags: tags.filter((tag) => /^[\w][\w.\-/:@]*$/.test(tag)) };
}

export interface HostGcResult {
  plansDropped: string[];
  plansKept: string[];
  segmentsFreed: number;
  /** The folders of the one-file-per-chunk format were removed. */
  formatOneRemoved: boolean;
}

export interface VerifyResult {
  checked: number;
  bad: string[];
  method: 'sha256' | 'pull';
}

export class RemotePool {
  private sha256sum = false;

  constructor(
    private readonly client: Client,
    readonly host: string,
    private readonly options: RemotePoolOptions = {},
  ) {
    if (options.path !== undefined && !/^\/[A-Za-z0-9._/-]*(:\/[A-Za-z0-9._/-]*)*$/.test(options.path)) {
      throw new WharfError({ code: 'bad-input', object: `remote PATH "${options.path}"`, cause: 'only absolute folders separated by ":" are accepted' });
    }
    if (options.dir !== undefined && (/[\n\0]/.test(options.dir) || options.dir.startsWith('-'))) {
      throw new WharfError({ code: 'bad-input', object: `remote pool "${options.dir}"`, cause: 'not a usable folder name', remedy: 'Give an absolute folder, e.g. /var/cache/wharf/pool' });
    }
  }

  private argv(script: string, extra: string[] = []): string[] {
    const prefix = this.options.path !== undefined ? ['env', `PATH=${this.options.path}`] : [];
    return [...prefix, 'sh', '-c', script, 'wharf-dedup', this.options.dir ?? '', ...extra];
  }

  /** Runs a script, feeding `input` (text or a writer) to its stdin; output is capped. */
  async run(
    script: string,
    input?: string | Buffer | ((channel: ClientChannel) => Promise<void>),
    work: WorkOptions = {},
    extra: string[] = [],
    onStdout?: (data: Buffer) => void,
    watch?: (data: Buffer) => void,
  ): Promise<ScriptResult> {
    const channel = await openExec(this.client, this.argv(script, extra));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outSize = 0;
    channel.on('data', (data: Buffer) => {
      watch?.(data);
      if (onStdout) return onStdout(data);
      outSize += data.length;
      if (outSize < 64 << 20) out.push(data);
    });
    channel.stderr.on('data', (data: Buffer) => {
      if (err.length < 1000) err.push(data);
    });
    const closed = new Promise<number | null>((resolve) => channel.once('close', (code: number | null) => resolve(code)));
    // A stream being written stops at a member boundary and ends cleanly, so all it sent arrives
    // and is kept; anything else is closed at once.
    const onAbort = () => (typeof input === 'function' ? setTimeout(() => channel.close(), 10_000).unref() : channel.close());
    work.signal?.addEventListener('abort', onAbort, { once: true });
    let bytesIn = 0;
    try {
      if (typeof input === 'string' || Buffer.isBuffer(input)) {
        bytesIn = Buffer.byteLength(input);
        channel.end(input);
      } else if (input) {
        const counting = channel.write.bind(channel);
        channel.write = ((data: Buffer, ...rest: never[]) => {
          bytesIn += data.length;
          return counting(data, ...rest);
        }) as typeof channel.write;
        await input(channel);
        channel.end();
      } else channel.end();
      const code = await closed;
      throwIfCancelled(work.signal, `sync to ${this.host}`);
      return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytesIn };
    } catch (error) {
      channel.close();
      throw error;
    } finally {
      work.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * What the first part of SYNC said: the tools (a missing one is an error naming it), the pool,
   * what dead syncs left, what the host holds, and the plans of the candidates it has.
   */
  private parsePrepared(result: ScriptResult): Prepared {
    const missing = /^missing:(.*)$/m.exec(result.stdout);
    if (missing) {
      const tools = missing[1].trim().split(/\s+/);
      throw new WharfError({
        code: 'unsupported',
        object: `SSH host ${this.host}`,
        cause: `missing ${tools.join(', ')} (${tools.map((tool) => `${tool} ${WHY[tool] ?? ''}`.trim()).join('; ')})`,
        remedy: `Install ${tools.join(' and ')} on ${this.host} or put ${tools.length > 1 ? 'them' : 'it'} on the PATH of non-interactive SSH sessions; nothing was sent`,
      });
    }
    if (!/^ready$/m.test(result.stdout)) throw this.failure('preparing the pool', result);
    this.sha256sum = /^sha256sum:yes$/m.test(result.stdout);
    const prepared: Prepared = { orphans: [], plans: new Map() };
    // Sections: `plan:<fp>` and `orphan:<seg>` are followed by their lines.
    const plans = new Map<string, string[]>();
    let plan: string[] | undefined;
    let orphan: OrphanSegment | undefined;
    for (const line of result.stdout.split('\n')) {
      if (line === 'ready') break;
      const marker = /^(plan|orphan|image|sha256sum):(.*)$/.exec(line);
      if (!marker) {
        if (plan && line) plan.push(`${line}\n`);
        else if (orphan && HEX64.test(line)) orphan.hashes.push(line);
        continue;
      }
      plan = undefined;
      orphan = undefined;
      const [, kind, value] = marker;
      if (kind === 'plan' && HEX64.test(value)) plans.set(value, (plan = []));
      else if (kind === 'orphan' && HEX64.test(value)) prepared.orphans.push((orphan = { seg: value, hashes: [] }));
      else if (kind === 'image' && /^sha256:[0-9a-f]{64}$/.test(value)) prepared.imageId = value;
    }
    for (const [fingerprint, text] of plans) prepared.plans.set(fingerprint, text.join(''));
    return prepared;
  }

  /**
   * A whole sync in one session: the host answers what prepare asks (see `Prepared`), `decide`
   * says whether to go on (false: the host is told to stop and `streamed` is undefined), and then
   * `produce` writes the members (see SYNC) while the host loads as they come. `candidates`: the
   * fingerprints of recipes whose plans we want. `level` is the wire's gzip level.
   */
  async sync(
    image: string,
    candidates: string[],
    decide: (prepared: Prepared) => boolean,
    level: number,
    produce: (writer: WireWriter) => Promise<void>,
    work: WorkOptions = {},
  ): Promise<{ prepared: Prepared; streamed?: StreamResult }> {
    let went = false;
    let prepared: Prepared | undefined;
    let head: string | undefined = '';
    let answered: (text: string | undefined) => void = () => undefined;
    const answer = new Promise<string | undefined>((resolve) => (answered = resolve));
    // Watches stdout until the first part's `ready` line.
    const watch = (data: Buffer) => {
      if (head === undefined) return;
      head += data.toString('utf8');
      if (!/^ready$/m.test(head)) return;
      answered(head);
      head = undefined;
    };
    const result = await this.run(
      SYNC,
      async (channel) => {
        channel.once('close', () => answered(undefined));
        channel.write(`${lines(candidates)}\n`);
        const text = await answer;
        if (text === undefined) return;
        prepared = this.parsePrepared({ code: 0, stdout: text, stderr: '', bytesIn: 0 });
        went = decide(prepared);
        channel.write(went ? 'go\n' : 'stop\n');
        if (went) await this.write(channel, level, produce);
      },
      work,
      [image],
      undefined,
      watch,
    );
    if (!prepared) return { prepared: this.parsePrepared(result) };
    if (!went) return { prepared };
    // What the stream part printed, after the first part's answer.
    const tail = result.stdout.slice(result.stdout.search(/^ready$/m) + 6);
    const streamed = this.streamResult({ ...result, stdout: tail });
    return { prepared, streamed };
  }

  private streamResult(result: ScriptResult): StreamResult {
    const named = (kind: string) => [...new Set([...result.stdout.matchAll(new RegExp(`^${kind}:([0-9a-f]{64})$`, 'gm'))].map((match) => match[1]))];
    const load = /^load:(\d+)$/m.exec(result.stdout);
    const tar = /^tar:(\d*) bad:(\d+)/m.exec(result.stdout);
    const id = /^id:(sha256:[0-9a-f]{64})$/m.exec(result.stdout)?.[1];
    const output = (result.stdout.split('\n').filter((line) => !/^(missing|tarfail|id|load|tar|recipe):/.test(line)).join('\n') + result.stderr).trim();
    let failure: WharfError | undefined;
    if (/^busy:gc$/m.test(result.stdout)) failure = this.busy('a garbage collection of its pool is running');
    else if (result.code !== 0 || !tar || tar[1] !== '0') failure = this.failure('receiving the stream', result);
    else if (/^badop/m.test(result.stdout)) {
      failure = new WharfError({ code: 'failed', object: `pool on ${this.host}`, cause: 'the host could not read a plan line', remedy: 'Sync again; the plans are read anew each time' });
    }
    return { missing: named('missing'), unreadable: named('tarfail'), stored: /^recipe:([0-9a-f]{64})$/m.exec(result.stdout)?.[1], loaded: load?.[1] === '0', id, output, bytes: result.bytesIn, failure };
  }

  private async write(channel: ClientChannel, level: number, produce: (writer: WireWriter) => Promise<void>): Promise<void> {
    const writer = new WireWriter(channel, level);
    try {
      await produce(writer);
    } finally {
      // Whatever stopped the producer (cancel, a failed save), what was written arrives whole.
      await writer.finish();
    }
  }

  /** Checks every listed segment on the host by its SHA-256 (there with sha256sum, else here). */
  async verify(hashes: string[], work: WorkOptions = {}): Promise<VerifyResult> {
    const bad = new Set<string>(hashes);
    if (this.sha256sum) {
      const result = await this.run(SUMS, lines(hashes), work);
      if (result.code !== 0 && !result.stdout) throw this.failure('checking segment hashes', result);
      for (const line of result.stdout.split('\n')) {
        const sum = /^([0-9a-f]{64})\s+\*?([0-9a-f]{64})$/.exec(line);
        if (sum && sum[1] === sum[2]) bad.delete(sum[2]);
      }
      return { checked: hashes.length, bad: [...bad], method: 'sha256' };
    }
    const reader = new TarReader((name, data) => {
      if (createHash('sha256').update(data).digest('hex') === name) bad.delete(name);
    });
    const result = await this.run(PULL, lines(hashes), work, [], (data) => reader.push(data));
    if (result.code !== 0) throw this.failure('reading segments back', result);
    return { checked: hashes.length, bad: [...bad], method: 'pull' };
  }

  /** The recipes (plans) the host holds by fingerprint, with the names their sync left beside them. */
  async plans(work: WorkOptions = {}): Promise<Map<string, HostPlanNames | undefined>> {
    const result = await this.run(PLANS, undefined, work);
    if (result.code !== 0) throw this.failure('listing the plans', result);
    const held = new Map<string, HostPlanNames | undefined>();
    for (const [, fingerprint, meta] of result.stdout.matchAll(/^recipe:([0-9a-f]{64}) ?(.*)$/gm)) held.set(fingerprint, parsePlanNames(meta));
    return held;
  }

  /** Drops the plans `drop` names, then frees the segments no plan uses. */
  async gc(drop: string[], work: WorkOptions = {}): Promise<HostGcResult> {
    const result = await this.run(GC, lines(drop), work);
    if (/^busy:/m.test(result.stdout)) throw this.busy(/^busy:sync/m.test(result.stdout) ? 'a sync to it is running' : 'another garbage collection is running');
    if (result.code !== 0) throw this.failure('collecting garbage', result);
    const named = (kind: string) => [...result.stdout.matchAll(new RegExp(`^${kind}:([0-9a-f]{64})$`, 'gm'))].map((match) => match[1]);
    return { plansDropped: named('dropped'), plansKept: named('kept'), segmentsFreed: named('freed').length, formatOneRemoved: /^format1:removed$/m.test(result.stdout) };
  }

  busy(cause: string): WharfError {
    return new WharfError({ code: 'conflict', object: `pool on ${this.host}`, cause, remedy: 'Try again when it has finished' });
  }

  async remove(hashes: string[], work: WorkOptions = {}): Promise<void> {
    if (hashes.length === 0) return;
    const result = await this.run(REMOVE, lines(hashes), work);
    if (result.code !== 0) throw this.failure('removing damaged segments', result);
  }

  failure(action: string, result: ScriptResult): WharfError {
    const text = result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${result.code}`;
    if (/no space left/i.test(result.stderr)) return new WharfError({ code: 'disk-full', object: `pool on ${this.host}`, cause: `${action}: no space left on device`, remedy: `Free space on ${this.host} and sync again; segments that arrived whole are kept and not sent twice` });
    if (/permission denied/i.test(result.stderr)) return new WharfError({ code: 'forbidden', object: `pool on ${this.host}`, cause: `${action}: ${text}`, remedy: 'Choose a pool folder the SSH user may write (--remote-pool)' });
    return new WharfError({ code: 'failed', object: `pool on ${this.host}`, cause: `${action} failed: ${text.slice(0, 300)}`, remedy: 'See the log for the full output, then sync again' });
  }
}

/** Validated chunk names, one per line: the only data the small scripts read. */
function lines(hashes: string[]): string {
  for (const hash of hashes) if (!HEX64.test(hash)) throw new WharfError({ code: 'bad-input', object: `chunk ${hash.slice(0, 80)}`, cause: 'not a SHA-256 hex name' });
  return hashes.length ? `${hashes.join('\n')}\n` : '';
}
