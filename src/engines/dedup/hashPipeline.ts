/**
 * SHA-256 of chunks on a worker thread, pipelined with the cutting on this one, so a 2-core machine
 * cuts and hashes at once. Chunks go over in batches (~1 MiB, one message each) copied into
 * ArrayBuffers that are transferred there and back and reused, so memory stays at a few MB
 * whatever the stream length. Output order and hashes equal hashing inline; if the worker cannot
 * start or dies, the batches it did not finish are hashed here, so the result never changes.
 *
 * The worker runs inline source (`eval`) using only node built-ins: the extension and the CLI are
 * single-file esbuild bundles, with no separate file a worker could be started from.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { Chunk } from './chunker';

/** SHA-256 hex of one chunk: the one-shot `crypto.hash` (Node ≥ 20.12) skips a Hash object per chunk. */
export const sha256Hex: (data: Uint8Array) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');

/** `auto`: a worker when a core is free (see coreToSpare); tests force either path. */
export type WorkerMode = 'auto' | 'always' | 'never';

/** What hashPipelined needs of a chunker: whole chunks out of pushed buffers (see Cutter). */
export interface CutterLike {
  push(data: Buffer, out: Buffer[]): void;
  end(out: Buffer[]): void;
}

const BATCH_BYTES = 1 << 20;
/** Batches sent and not yet yielded; with the one being filled, ~5 MB of copies at most. */
const MAX_IN_FLIGHT = 4;
/** Batches queued at the worker beyond which this thread hashes the next one itself. */
const WORKER_BACKLOG = 2;

const WORKER_SOURCE = [
  "'use strict';",
  "const { parentPort } = require('node:worker_threads');",
  "const crypto = require('node:crypto');",
  "const hex = typeof crypto.hash === 'function' ? (b) => crypto.hash('sha256', b, 'hex') : (b) => crypto.createHash('sha256').update(b).digest('hex');",
  'parentPort.on("message", (m) => {',
  '  const bytes = new Uint8Array(m.buffer);',
  '  let start = 0;',
  "  let hashes = '';",
  '  for (const end of m.ends) { hashes += hex(bytes.subarray(start, end)); start = end; }',
  '  parentPort.postMessage({ id: m.id, hashes, buffer: m.buffer }, [m.buffer]);',
  '});',
].join('\n');

/** One worker thread and the batches it owes us. */
class Hasher {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (hashes: string) => void; reject: (error: Error) => void }>();
  private readonly free: ArrayBuffer[] = [];
  broken = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // The 'message' listener below refs the worker again, so it does keep the process alive while
    // it runs; hashPipelined always terminates it (finally), so nothing lingers.
    this.worker.unref();
    this.worker.on('message', (message: { id: number; hashes: string; buffer: ArrayBuffer }) => {
      if (message.buffer.byteLength === BATCH_BYTES && this.free.length < MAX_IN_FLIGHT) this.free.push(message.buffer);
      this.waiting.get(message.id)?.resolve(message.hashes);
      this.waiting.delete(message.id);
    });
    const fail = (error: Error) => {
      this.broken = true;
      for (const entry of this.waiting.values()) entry.reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
  }

  /** The concatenated hex hashes of `chunks` (64 characters each), computed on the worker. */
  hash(chunks: Buffer[], total: number): Promise<string> {
    const buffer = total <= BATCH_BYTES ? (this.free.pop() ?? new ArrayBuffer(BATCH_BYTES)) : new ArrayBuffer(total);
    const bytes = new Uint8Array(buffer);
    const ends: number[] = [];
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
      ends.push(offset);
    }
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, buffer, ends }, [buffer]);
    });
  }

  /** Batches sent and not yet answered. */
  get backlog(): number {
    return this.waiting.size;
  }

  close(): void {
    this.broken = true;
    void this.worker.terminate();
  }
}

/**
 * Whether a worker pays: only with a core to spare. Measured on this 2-core machine under load
 * ~5 (256 MB tar, median of 5): inline 400 MB/s wall, with the worker 250-330 (copies, messages
 * and a second thread fighting for the same cores); with a free core the worker overlaps SHA-256
 * with the cutting. The load average lags a minute; it only chooses between two correct paths.
 */
function coreToSpare(): boolean {
  return os.loadavg()[0] < os.availableParallelism() - 1;
}

function startHasher(mode: WorkerMode): Hasher | undefined {
  if (mode === 'never' || (mode === 'auto' && !coreToSpare())) return undefined;
  try {
    return new Hasher();
  } catch {
    return undefined; // no worker threads here: hash inline
  }
}

const hashInline = (chunks: Buffer[]) => chunks.map(sha256Hex).join('');

interface Batch {
  chunks: Buffer[];
  hashes: Promise<string>;
  settled: boolean;
}

/**
 * Cuts `source` with `cutter` and yields the chunks in order with their SHA-256. The worker starts
 * only once a first full batch exists, so short streams never pay for it.
 */
export async function* hashPipelined(source: Readable | AsyncIterable<Buffer>, cutter: CutterLike, mode: WorkerMode = 'auto'): AsyncGenerator<Chunk> {
  let hasher: Hasher | undefined;
  let triedWorker = false;
  const inFlight: Batch[] = [];
  let batch: Buffer[] = [];
  let batchBytes = 0;

  /** `full`: the batch reached its size, so the stream is long enough to be worth a worker. */
  const send = (full: boolean): void => {
    const chunks = batch;
    const total = batchBytes;
    batch = [];
    batchBytes = 0;
    if (!chunks.length) return;
    hasher ??= full && !triedWorker ? startHasher(mode) : undefined;
    triedWorker ||= full;
    let hashes: Promise<string>;
    // When the worker lags (a busy machine gives it little CPU), this thread hashes the batch
    // itself rather than queue it: less copying, and never idle waiting for the worker.
    if (hasher && !hasher.broken && hasher.backlog < WORKER_BACKLOG) {
      // A failed worker batch is hashed here instead: the result is the same, only slower.
      hashes = hasher.hash(chunks, total).catch(() => hashInline(chunks));
    } else {
      hashes = Promise.resolve(hashInline(chunks));
    }
    const entry: Batch = { chunks, hashes, settled: false };
    void hashes.then(() => (entry.settled = true));
    inFlight.push(entry);
  };
  // One generator level, no yield* per chunk: each delegation level costs promises per chunk.
  try {
    const pieces: Buffer[] = [];
    for await (const piece of withEnd(source)) {
      if (piece) cutter.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece), pieces);
      else cutter.end(pieces);
      for (const chunk of pieces) {
        if (batchBytes + chunk.length > BATCH_BYTES && batch.length) send(true);
        batch.push(chunk);
        batchBytes += chunk.length;
        // Hand over what is done; wait only when too much is in flight (that bounds memory, even
        // when one pushed buffer holds many batches).
        while (inFlight.length && (inFlight[0].settled || inFlight.length > MAX_IN_FLIGHT)) {
          const entry = inFlight.shift() as Batch;
          const hashes = await entry.hashes;
          for (let index = 0; index < entry.chunks.length; index++) yield { hash: hashes.slice(index * 64, index * 64 + 64), data: entry.chunks[index] };
        }
      }
      pieces.length = 0;
    }
    send(false);
    for (const entry of inFlight.splice(0)) {
      const hashes = await entry.hashes;
      for (let index = 0; index < entry.chunks.length; index++) yield { hash: hashes.slice(index * 64, index * 64 + 64), data: entry.chunks[index] };
    }
  } finally {
    hasher?.close();
  }
}

/** The source's buffers, then `undefined` for its end. */
async function* withEnd(source: Readable | AsyncIterable<Buffer>): AsyncGenerator<Buffer | undefined> {
  yield* source as AsyncIterable<Buffer>;
  yield undefined;
}
