/**
 * Gzip of the pool's new chunks on a worker thread, one `zlib.gzipSync` member per chunk, so the
 * thread that cuts and stores a save does not also compress it. Per-chunk async `zlib.gzip` cost
 * ~150 µs of promise and thread-pool overhead per 8 KiB chunk (5.8 s of CPU for a 208 MB tar
 * against 3.1 s for gzipSync, same bytes out); here chunks travel in batches (~1 MiB, one message
 * each, copied into ArrayBuffers that are transferred there and back and reused).
 *
 * Every member equals `zlib.gzipSync(chunk, { level })` byte for byte, whichever thread made it,
 * and callers' promises resolve in the order the chunks were added (a worker's members are views
 * of one buffer per batch). A batch the producer stopped filling is sent on the next turn of the
 * event loop (a caller awaiting its own chunk never waits forever); a small one is compressed here,
 * as a round trip would cost more than it saves (a caller awaiting each member in turn gets
 * gzipSync's speed). If the worker cannot start or dies, the batches it owes are compressed here:
 * slower, same bytes.
 *
 * The worker runs inline source (`eval`) using only node built-ins, like hashPipeline.ts: the
 * extension and the CLI are single-file esbuild bundles, with no separate file to start it from.
 */
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import type { WorkerMode } from './hashPipeline';

export type { WorkerMode };

const BATCH_BYTES = 1 << 20;
/** Bytes added and not yet handed back (batches queued at the worker plus the one being filled). */
const MAX_BYTES_IN_FLIGHT = 4 * BATCH_BYTES;
/** A partial batch below this is compressed here (in `auto`): a round trip costs more than it saves. */
const INLINE_BELOW = 64 * 1024;

const WORKER_SOURCE = [
  "'use strict';",
  "const { parentPort } = require('node:worker_threads');",
  "const zlib = require('node:zlib');",
  'parentPort.on("message", (m) => {',
  '  const bytes = new Uint8Array(m.buffer);',
  '  const members = [];',
  '  let start = 0;',
  '  let total = 0;',
  '  for (const end of m.ends) { const member = zlib.gzipSync(bytes.subarray(start, end), { level: m.level }); members.push(member); total += member.length; start = end; }',
  '  const out = new Uint8Array(total);',
  '  const ends = [];',
  '  let offset = 0;',
  '  for (const member of members) { out.set(member, offset); offset += member.length; ends.push(offset); }',
  '  parentPort.postMessage({ id: m.id, buffer: m.buffer, out: out.buffer, ends }, [m.buffer, out.buffer]);',
  '});',
].join('\n');

interface Waiter {
  resolve: (member: Buffer) => void;
  reject: (error: unknown) => void;
}

interface Batch {
  chunks: Buffer[];
  waiters: Waiter[];
  bytes: number;
  members?: Buffer[];
  error?: unknown;
}

interface Reply {
  id: number;
  buffer: ArrayBuffer;
  out: ArrayBuffer;
  ends: number[];
}

/** Compresses chunks as gzip members, on a worker when it pays. Call `close()` when done. */
export class ChunkGzip {
  private worker: Worker | undefined;
  private triedWorker = false;
  private broken = false;
  private closed = false;
  private nextId = 0;
  /** Batches sent (to the worker or done here) and not yet handed back, in order. */
  private readonly owed: Batch[] = [];
  private readonly atWorker = new Map<number, Batch>();
  private readonly free: ArrayBuffer[] = [];
  private filling: Batch = { chunks: [], waiters: [], bytes: 0 };
  private flushScheduled = false;
  private bytesInFlight = 0;
  private roomWaiters: (() => void)[] = [];

  /** `auto`: a worker once a batch is worth one; `always`/`never` force a path (tests). */
  constructor(
    readonly level: number,
    private readonly mode: WorkerMode = 'auto',
  ) {}

  /** The chunk's gzip member (same bytes as `zlib.gzipSync(data, { level })`). */
  gzip(data: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('chunk compressor closed'));
    const batch = this.filling;
    if (batch.bytes + data.length > BATCH_BYTES && batch.chunks.length) this.send();
    const promise = new Promise<Buffer>((resolve, reject) => this.filling.waiters.push({ resolve, reject }));
    this.filling.chunks.push(data);
    this.filling.bytes += data.length;
    this.bytesInFlight += data.length;
    if (this.filling.bytes >= BATCH_BYTES) this.send();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.send();
      });
    }
    return promise;
  }

  /**
   * Undefined while there is room for more; otherwise a promise that resolves once enough was handed
   * back (the producer awaits it: that bounds memory whatever the stream length).
   */
  room(): Promise<void> | undefined {
    if (this.bytesInFlight < MAX_BYTES_IN_FLIGHT) return undefined;
    this.send(); // what is held back now would wait for nothing
    if (this.bytesInFlight < MAX_BYTES_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Sends the batch being filled now (the producer has no more for a while). */
  flush(): void {
    this.send();
  }

  /** Whether batches go to a worker thread (for tests and logs). */
  get usingWorker(): boolean {
    return this.worker !== undefined && !this.broken;
  }

  /** Ends the worker; members not handed back yet are rejected. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) void worker.terminate();
    const error = new Error('chunk compressor closed');
    if (this.filling.chunks.length) this.owed.push(this.filling);
    this.filling = { chunks: [], waiters: [], bytes: 0 };
    for (const batch of this.owed) if (!batch.members) batch.error = error;
    this.atWorker.clear();
    this.deliver();
  }

  private send(): void {
    const batch = this.filling;
    if (!batch.chunks.length || this.closed) return;
    this.filling = { chunks: [], waiters: [], bytes: 0 };
    this.owed.push(batch);
    const worker = this.mode === 'never' || (this.mode === 'auto' && batch.bytes < INLINE_BELOW) ? undefined : this.startWorker();
    if (worker) this.post(worker, batch);
    else this.compressHere(batch);
    this.deliver();
  }

  private startWorker(): Worker | undefined {
    if (!this.triedWorker) {
      this.triedWorker = true;
      try {
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        worker.on('message', (reply: Reply) => this.received(reply));
        // Either way the result is the same, only slower: nothing to report.
        worker.on('error', () => this.failed(worker));
        worker.on('exit', () => this.failed(worker));
        // After the listeners (adding a 'message' listener refs the port again): an idle worker never
        // keeps the process alive; post() refs it while it owes us work.
        worker.unref();
        this.worker = worker;
      } catch {
        this.broken = true; // no worker threads here: compress on this thread
      }
    }
    return this.broken ? undefined : this.worker;
  }

  private post(worker: Worker, batch: Batch): void {
    const buffer = batch.bytes <= BATCH_BYTES ? (this.free.pop() ?? new ArrayBuffer(BATCH_BYTES)) : new ArrayBuffer(batch.bytes);
    const bytes = new Uint8Array(buffer);
    const ends: number[] = [];
    let offset = 0;
    for (const chunk of batch.chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
      ends.push(offset);
    }
    const id = this.nextId++;
    // Referenced while it owes us work: an unref'd worker alone would let the process exit with the
    // save half done (nothing else may hold the event loop once the source has ended).
    if (this.atWorker.size === 0) worker.ref();
    this.atWorker.set(id, batch);
    worker.postMessage({ id, buffer, ends, level: this.level }, [buffer]);
  }

  private received(reply: Reply): void {
    if (reply.buffer.byteLength === BATCH_BYTES && this.free.length < MAX_BYTES_IN_FLIGHT / BATCH_BYTES) this.free.push(reply.buffer);
    const batch = this.atWorker.get(reply.id);
    if (!batch) return;
    this.atWorker.delete(reply.id);
    if (this.atWorker.size === 0) this.worker?.unref();
    const members: Buffer[] = [];
    let start = 0;
    for (const end of reply.ends) {
      members.push(Buffer.from(reply.out, start, end - start));
      start = end;
    }
    batch.members = members;
    this.deliver();
  }

  /** The worker failed or exited: what it owes is compressed here, and the next batches too. */
  private failed(worker: Worker): void {
    if (this.worker !== worker) return; // closed, or already handled
    this.broken = true;
    this.worker = undefined;
    void worker.terminate();
    const owed = [...this.atWorker.values()];
    this.atWorker.clear();
    for (const batch of owed) this.compressHere(batch);
    this.deliver();
  }

  private compressHere(batch: Batch): void {
    try {
      batch.members = batch.chunks.map((chunk) => zlib.gzipSync(chunk, { level: this.level }));
    } catch (error) {
      batch.error = error;
    }
  }

  /** Hands back finished batches in the order they were added. */
  private deliver(): void {
    while (this.owed.length && (this.owed[0].members || this.owed[0].error !== undefined)) {
      const batch = this.owed.shift() as Batch;
      this.bytesInFlight -= batch.bytes;
      for (let index = 0; index < batch.waiters.length; index++) {
        if (batch.members) batch.waiters[index].resolve(batch.members[index]);
        else batch.waiters[index].reject(batch.error);
      }
    }
    if (this.roomWaiters.length && this.bytesInFlight < MAX_BYTES_IN_FLIGHT) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
