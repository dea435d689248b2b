/**
 * The remote pool, driven over one ssh2 connection on a host that has only a POSIX shell, cat,
 * gzip, tar and docker (plus mkdir/mv/rm, which every POSIX system has). Each step is a fixed
 * script run as `sh -c SCRIPT wharf-dedup POOL` (argv, quoted by exec.ts); the only data it gets
 * is on stdin, and chunk names are checked to be 64 hex digits before they are sent, so nothing
 * untrusted is ever interpolated into a command.
 *
 * Remote layout: POOL/chunks/<sha256>.gz, POOL/incoming/ (a transfer lands here first; only an
 * archive read to its end is moved into chunks/, and what an interrupted one left is checked with
 * `gzip -t` and kept on the next run).
 */
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { Client, ClientChannel } from 'ssh2';
import { WharfError, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { openExec } from '../ssh/exec';
import { HEX64, type Pool } from './pool';
import { TAR_END, tarHeader, tarPadding } from './tarWriter';

export const REQUIRED_TOOLS = ['cat', 'gzip', 'tar', 'docker', 'mkdir', 'mv', 'rm'] as const;
const WHY: Record<string, string> = {
  cat: 'joins the chunks back into the image archive',
  gzip: 'unpacks the chunks (they travel and rest gzip-compressed)',
  tar: 'receives the missing chunks in one stream',
  docker: 'loads the rebuilt image',
  mkdir: 'creates the pool folder',
  mv: 'moves received chunks into the pool',
  rm: 'drops damaged chunks',
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

const PRELUDE = 'P=${1:-$HOME/.cache/wharf/pool}\n';

const DETECT = `${PRELUDE}missing=
for t in ${REQUIRED_TOOLS.join(' ')}; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
if [ -n "$missing" ]; then echo "missing:$missing"; exit 3; fi
if command -v sha256sum >/dev/null 2>&1; then echo "sha256sum:yes"; else echo "sha256sum:no"; fi
mkdir -p "$P/chunks" "$P/incoming" || exit 4
cd "$P/incoming" || exit 4
# What an interrupted transfer left: whole members are kept, a cut one fails gzip -t and goes.
set --
keep() { if gzip -t "$@" 2>/dev/null; then mv -f "$@" ../chunks/ || exit 5; else for f in "$@"; do if gzip -t "$f" 2>/dev/null; then mv -f "$f" ../chunks/; else rm -f "$f"; echo "dropped:$f"; fi; done; fi; }
for f in *.gz; do [ -f "$f" ] || continue; set -- "$@" "$f"; if [ $# -ge 256 ]; then keep "$@"; echo "recovered:$#"; set --; fi; done
if [ $# -gt 0 ]; then keep "$@"; echo "recovered:$#"; fi
echo "pool:$P"
`;

/** The recipe (chunk names in order) arrives gzip-compressed once and stays: $2 is the image id hex. */
const PUT_RECIPE = `${PRELUDE}mkdir -p "$P/recipes" || exit 4
gzip -dc > "$P/recipes/.$2.tmp" && mv -f "$P/recipes/.$2.tmp" "$P/recipes/$2" || exit 5
`;

const HAVE = `${PRELUDE}cd "$P/chunks" || exit 4
while IFS= read -r h; do [ -f "$h.gz" ] || echo "$h"; done < "$P/recipes/$2"
`;

const RECEIVE = `${PRELUDE}cd "$P/incoming" || exit 4
gzip -dc | tar -xf - || exit 6
set --
for f in *.gz; do [ -f "$f" ] || continue; set -- "$@" "$f"; if [ $# -ge 256 ]; then mv -f "$@" ../chunks/ || exit 5; set --; fi; done
if [ $# -gt 0 ]; then mv -f "$@" ../chunks/ || exit 5; fi
echo received
`;

/** Chunk names in recipe order from the stored recipe; no temporary file: cat | gzip -dc | docker load. */
const LOAD = `${PRELUDE}cd "$P/chunks" || exit 4
{ set --
  while IFS= read -r h; do set -- "$@" "$h.gz"; if [ $# -ge 256 ]; then cat "$@" || { echo "wharf: cat failed" >&2; exit 7; }; set --; fi; done
  if [ $# -gt 0 ]; then cat "$@" || { echo "wharf: cat failed" >&2; exit 7; }; fi
} < "$P/recipes/$2" | { gzip -dc || echo "wharf: gzip failed" >&2; } | docker load
`;

/** With sha256sum: the digest of each stored file, in batches. */
const SUMS = `${PRELUDE}cd "$P/chunks" || exit 4
set --
while IFS= read -r h; do if [ -f "$h.gz" ]; then set -- "$@" "$h.gz"; else echo "missing $h"; fi; if [ $# -ge 256 ]; then sha256sum "$@"; set --; fi; done
if [ $# -gt 0 ]; then sha256sum "$@"; fi
`;

/** The digest of each chunk's content (for files whose stored bytes differ from ours). */
const CONTENT_SUMS = `${PRELUDE}cd "$P/chunks" || exit 4
while IFS= read -r h; do d=$(gzip -dc "$h.gz" 2>/dev/null | sha256sum); echo "$h \${d%% *}"; done
`;

/** Without sha256sum: gzip's CRC-32 still finds damaged members. */
const GZIP_TEST = `${PRELUDE}cd "$P/chunks" || exit 4
while IFS= read -r h; do if [ ! -f "$h.gz" ]; then echo "missing $h"; elif ! gzip -t "$h.gz" 2>/dev/null; then echo "bad $h"; fi; done
`;

const REMOVE = `${PRELUDE}cd "$P/chunks" || exit 4
while IFS= read -r h; do rm -f "$h.gz"; done
`;

const IMAGE_ID = `docker image inspect --format '{{.Id}}' "$2"`;

export interface VerifyResult {
  checked: number;
  bad: string[];
  method: 'sha256' | 'gzip-crc';
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

  /** Runs a script, feeding `input` (lines or a writer) to its stdin; output is capped. */
  async run(script: string, input?: string | Buffer | ((channel: ClientChannel) => Promise<void>), work: WorkOptions = {}, extra: string[] = []): Promise<ScriptResult> {
    const channel = await openExec(this.client, this.argv(script, extra));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outSize = 0;
    channel.on('data', (data: Buffer) => {
      outSize += data.length;
      if (outSize < 64 << 20) out.push(data);
    });
    channel.stderr.on('data', (data: Buffer) => {
      if (err.length < 1000) err.push(data);
    });
    const closed = new Promise<number | null>((resolve) => channel.on('close', (code: number | null) => resolve(code)));
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

  /** Checks the tools, creates the pool, keeps what an interrupted transfer left. Returns chunks recovered. */
  async prepare(work: WorkOptions = {}): Promise<{ recovered: number; dropped: number; dir: string }> {
    const result = await this.run(DETECT, undefined, work);
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
    if (result.code !== 0) throw this.failure('preparing the pool', result);
    this.sha256sum = /^sha256sum:yes$/m.test(result.stdout);
    const recovered = [...result.stdout.matchAll(/^recovered:(\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    const dropped = (result.stdout.match(/^dropped:/gm) ?? []).length;
    return { recovered: recovered - dropped, dropped, dir: /^pool:(.*)$/m.exec(result.stdout)?.[1] ?? '' };
  }

  get hasSha256sum(): boolean {
    return this.sha256sum;
  }

  /** Stores the recipe on the host (gzip-compressed on the wire). Returns the bytes sent. */
  async putRecipe(imageId: string, chunks: string[], work: WorkOptions = {}): Promise<number> {
    const hex = imageId.replace(/^sha256:/, '');
    if (!HEX64.test(hex)) throw new WharfError({ code: 'bad-input', object: `image id ${imageId}`, cause: 'not a sha256 image id' });
    const packed = zlib.gzipSync(lines(chunks), { level: 9 });
    const result = await this.run(PUT_RECIPE, packed, work, [hex]);
    if (result.code !== 0) throw this.failure('storing the recipe', result);
    return result.bytesIn;
  }

  /** The chunks of a stored recipe the host lacks (one pass on the host; only missing names come back). */
  async missing(imageId: string, work: WorkOptions = {}): Promise<string[]> {
    const hex = imageId.replace(/^sha256:/, '');
    const result = await this.run(HAVE, undefined, work, [hex]);
    if (result.code !== 0) throw this.failure('listing the pool', result);
    return [...new Set(result.stdout.split('\n').filter((line) => HEX64.test(line)))];
  }

  /**
   * Sends the chunks in one tar stream, gzip level 1 on the wire: the members are gzip already, but
   * a tar header and its padding (~770 bytes of mostly zeros) would otherwise add ~15% to 5 KB
   * members. The host keeps every whole member even if the stream is cut.
   */
  async send(pool: Pool, hashes: string[], work: WorkOptions & { onSent?: (chunks: number, bytes: number) => void } = {}): Promise<{ bytes: number }> {
    const result = await this.run(
      RECEIVE,
      async (channel) => {
        const packer = zlib.createGzip({ level: 1 });
        let wire = 0;
        let gone = false; // the host ended the session (tar failed): drain and drop the rest
        const channelClosed = new Promise<void>((resolve) =>
          channel.once('close', () => {
            gone = true;
            packer.resume();
            resolve();
          }),
        );
        packer.on('data', (data: Buffer) => {
          if (gone) return;
          wire += data.length;
          if (!channel.write(data)) packer.pause();
        });
        channel.on('drain', () => packer.resume());
        const ended = once(packer, 'end');
        let index = 0;
        for (const hash of hashes) {
          if (work.signal?.aborted || gone) break;
          const data = await pool.readChunk(hash);
          for (const part of [tarHeader(`${hash}.gz`, data.length), data, tarPadding(data.length)]) {
            if (!packer.write(part) && !gone) await Promise.race([new Promise((resolve) => packer.once('drain', resolve)), channelClosed]);
          }
          index++;
          if (index % 16 === 0 || index === hashes.length) work.onSent?.(index, wire);
        }
        if (!work.signal?.aborted) packer.write(TAR_END);
        packer.end();
        await ended;
        work.onSent?.(index, wire);
      },
      work,
    );
    if (result.code !== 0) {
      if (/no space left/i.test(result.stderr)) throw new WharfError({ code: 'disk-full', object: `pool on ${this.host}`, cause: 'no space left on device while receiving chunks', remedy: `Free space on ${this.host}; chunks that arrived whole are kept and the next sync sends only the rest` });
      throw this.failure('receiving chunks', result);
    }
    return { bytes: result.bytesIn };
  }

  /** Rebuilds the archive from the recipe on the host and loads it; returns docker load's output. */
  async load(imageId: string, work: WorkOptions = {}): Promise<{ ok: boolean; output: string; gzipFailed: boolean; bytes: number }> {
    const result = await this.run(LOAD, undefined, work, [imageId.replace(/^sha256:/, '')]);
    const gzipFailed = /wharf: (gzip|cat) failed/.test(result.stderr);
    return { ok: result.code === 0 && !gzipFailed, output: (result.stdout + result.stderr).trim(), gzipFailed, bytes: result.bytesIn };
  }

  /** The id of an image on the host, or undefined. */
  async imageId(ref: string, work: WorkOptions = {}): Promise<string | undefined> {
    const result = await this.run(IMAGE_ID, undefined, work, [ref]);
    if (result.code === 0) return result.stdout.trim() || undefined;
    if (/no such (image|object)/i.test(result.stderr)) return undefined;
    throw this.failure('docker image inspect', result);
  }

  /** Checks every listed chunk on the host: by SHA-256 when sha256sum exists, by gzip's CRC otherwise. */
  async verify(pool: Pool, hashes: string[], work: WorkOptions = {}): Promise<VerifyResult> {
    const bad = new Set<string>();
    if (this.sha256sum) {
      const result = await this.run(SUMS, lines(hashes), work);
      if (result.code !== 0 && !result.stdout) throw this.failure('checking chunk hashes', result);
      const differ: string[] = [];
      const seen = new Set<string>();
      for (const line of result.stdout.split('\n')) {
        const missing = /^missing ([0-9a-f]{64})$/.exec(line);
        if (missing) {
          bad.add(missing[1]);
          continue;
        }
        const sum = /^([0-9a-f]{64})\s+\*?([0-9a-f]{64})\.gz$/.exec(line);
        if (!sum) continue;
        seen.add(sum[2]);
        const ours = createHash('sha256').update(await pool.readChunk(sum[2])).digest('hex');
        if (ours !== sum[1]) differ.push(sum[2]);
      }
      for (const hash of hashes) if (!seen.has(hash) && !bad.has(hash)) bad.add(hash);
      if (differ.length) {
        // Stored bytes differ (damage, or another gzip): the content's own hash decides.
        const content = await this.run(CONTENT_SUMS, lines(differ), work);
        for (const line of content.stdout.split('\n')) {
          const [hash, digest] = line.split(' ');
          if (HEX64.test(hash) && digest !== hash) bad.add(hash);
        }
      }
      return { checked: hashes.length, bad: [...bad], method: 'sha256' };
    }
    const result = await this.run(GZIP_TEST, lines(hashes), work);
    for (const line of result.stdout.split('\n')) {
      const match = /^(?:missing|bad) ([0-9a-f]{64})$/.exec(line);
      if (match) bad.add(match[1]);
    }
    return { checked: hashes.length, bad: [...bad], method: 'gzip-crc' };
  }

  async remove(hashes: string[], work: WorkOptions = {}): Promise<void> {
    if (hashes.length === 0) return;
    const result = await this.run(REMOVE, lines(hashes), work);
    if (result.code !== 0) throw this.failure('removing damaged chunks', result);
  }

  private failure(action: string, result: ScriptResult): WharfError {
    const text = result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${result.code}`;
    if (/no space left/i.test(result.stderr)) return new WharfError({ code: 'disk-full', object: `pool on ${this.host}`, cause: `${action}: no space left on device`, remedy: `Free space on ${this.host} and sync again; nothing already there is lost` });
    if (/permission denied/i.test(result.stderr)) return new WharfError({ code: 'forbidden', object: `pool on ${this.host}`, cause: `${action}: ${text}`, remedy: 'Choose a pool folder the SSH user may write (--remote-pool)' });
    return new WharfError({ code: 'failed', object: `pool on ${this.host}`, cause: `${action} failed: ${text.slice(0, 300)}`, remedy: 'See the log for the full output, then sync again' });
  }
}

/** Validated chunk names, one per line: the only data the remote scripts read. */
function lines(hashes: string[]): string {
  for (const hash of hashes) if (!HEX64.test(hash)) throw new WharfError({ code: 'bad-input', object: `chunk ${hash.slice(0, 80)}`, cause: 'not a SHA-256 hex name' });
  return hashes.length ? `${hashes.join('\n')}\n` : '';
}
