/**
 * Content-defined chunking, FastCDC style (Xia et al., USENIX ATC 2016), with normalized chunking:
 * below the average size a stricter mask (more bits) makes cuts rare, above it a looser mask makes
 * them likely, so sizes bunch around the average. Cut points depend only on the bytes near them,
 * so an insertion moves only the boundaries next to it and the rest of the stream dedups.
 *
 * Parameters, measured on two Debian bookworm minbase rootfs tars (204 MB; v2 = v1 + 3 packages),
 * bytes of v2 not in v1 after gzip, plus 65 B of name per chunk (README "Deduplicated sync"):
 *   avg 4 KiB: 3.23 MB in 42.8k chunks; avg 8 KiB (min 2, max 32 or 64): 4.80 MB in 21.2k;
 *   avg 16 KiB: 7.13 MB in 10.5k; avg 32 KiB: 11.22 MB in 5.2k.
 * Chosen: min 2 KiB / avg 8 KiB / max 64 KiB. Halving to 4 KiB saves ~1.6 MB of chunks (recipes
 * travel as references, not ~35 B per chunk, so that no longer costs) but doubles the files on both
 * sides, the main cost of a first sync here; 16 KiB and up lose half the dedup. Max 64 vs 32 KiB
 * made no difference in bytes and cuts long zero runs into fewer chunks. A pool also cuts at the
 * headers of the outer docker save tar (tarAligned.ts).
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { hashPipelined, sha256Hex } from './hashPipeline';
import { TarAlignedCutter } from './tarAligned';

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 2 * 1024, avgSize: 8 * 1024, maxSize: 64 * 1024 };

export interface Chunk {
  /** SHA-256 of the chunk, lower-case hex. */
  hash: string;
  data: Buffer;
}

/** 256 pseudo-random 32-bit words from SHA-256 of a fixed seed: the same table on every machine. */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index += 8) {
    const digest = crypto.createHash('sha256').update(`wharf-gear-v1-${index}`).digest();
    for (let word = 0; word < 8; word++) table[index + word] = digest.readUInt32BE(word * 4);
  }
  return table;
})();

/** A mask of `bits` ones in the top of the 32-bit gear hash (the top bits see the most bytes). */
function topMask(bits: number): number {
  return bits <= 0 ? 0 : ((0xffffffff << (32 - bits)) >>> 0);
}

export function validateParams(params: ChunkerParams): void {
  const { minSize, avgSize, maxSize } = params;
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(avgSize) || !(minSize > 0 && minSize < avgSize && avgSize < maxSize)) {
    throw new RangeError(`chunker parameters must satisfy 0 < min < avg < max with avg a power of two (got ${minSize}/${avgSize}/${maxSize})`);
  }
}

/** The masks and sizes of one parameter set, as int32 so the gear loop stays in 32-bit integer math. */
interface Plan {
  min: number;
  avg: number;
  max: number;
  maskS: number;
  maskL: number;
}

function plan(params: ChunkerParams): Plan {
  const bits = Math.log2(params.avgSize);
  return { min: params.minSize, avg: params.avgSize, max: params.maxSize, maskS: topMask(bits + 2) | 0, maskL: topMask(bits - 2) | 0 };
}

/**
 * The gear table as signed words: `GEAR[b]` above 2^31 would be a double in V8's optimized code;
 * as int32 the add stays an integer add (same low 32 bits, so the same hashes and cut points).
 */
const GEAR_I32 = Int32Array.from(GEAR, (word) => word | 0);

/**
 * The cut point in `buf[start..end)` for a chunk starting at `start`; `final` says no more data
 * follows, so a short tail is a chunk of its own. Returns -1 when more data is needed.
 */
export function findCut(buf: Uint8Array, start: number, end: number, params: ChunkerParams, final: boolean): number {
  const { min, avg, max, maskS, maskL } = plan(params);
  const available = end - start;
  if (available <= min) return final && available > 0 ? end : -1;
  const limit = Math.min(available, max);
  const normalEnd = start + Math.min(limit, avg);
  const limitEnd = start + limit;
  let hash = 0;
  let i = start + min;
  for (; i < normalEnd; i++) {
    hash = ((hash << 1) + GEAR_I32[buf[i]]) | 0;
    if ((hash & maskS) === 0) return i + 1;
  }
  for (; i < limitEnd; i++) {
    hash = ((hash << 1) + GEAR_I32[buf[i]]) | 0;
    if ((hash & maskL) === 0) return i + 1;
  }
  if (limit === max || final) return limitEnd;
  return -1;
}

/**
 * Cuts without hashing, as a state machine over the pushed buffers: the gear hash and the position
 * in the current chunk carry over from one push to the next, so no byte is scanned twice and only
 * a chunk that straddles two pushes is copied (the others are views of the pushed buffers; callers
 * must not reuse a buffer after pushing it). The first `min` bytes of each chunk are skipped, not
 * hashed, exactly as findCut does, so the cut points are the same as findCut's.
 */
export class Cutter {
  private readonly plan: Plan;
  /** Bytes of the current chunk from earlier pushes. */
  private parts: Buffer[] = [];
  /** Length of the current chunk so far. */
  private position = 0;
  private hash = 0;

  constructor(params: ChunkerParams = DEFAULT_CHUNKER) {
    validateParams(params);
    this.plan = plan(params);
  }

  /** Appends the whole chunks that end inside `data` to `out`. */
  push(data: Buffer, out: Buffer[]): void {
    const { min, avg, max, maskS, maskL } = this.plan;
    const gear = GEAR_I32;
    const n = data.length;
    let i = 0;
    let chunkStart = 0;
    let p = this.position;
    let h = this.hash;
    while (i < n) {
      if (p < min) {
        const skip = Math.min(min - p, n - i);
        i += skip;
        p += skip;
        if (p < min) break;
      }
      let found = false;
      if (p < avg && i < n) {
        const from = i;
        const stop = i + Math.min(avg - p, n - i);
        while (i < stop) {
          h = ((h << 1) + gear[data[i++]]) | 0;
          if ((h & maskS) === 0) {
            found = true;
            break;
          }
        }
        p += i - from;
      }
      if (!found && p >= avg && i < n) {
        const from = i;
        const stop = i + Math.min(max - p, n - i);
        while (i < stop) {
          h = ((h << 1) + gear[data[i++]]) | 0;
          if ((h & maskL) === 0) {
            found = true;
            break;
          }
        }
        p += i - from;
      }
      if (!found && p < max) break; // i === n: the chunk continues in the next push
      out.push(this.parts.length ? Buffer.concat([...this.parts, data.subarray(chunkStart, i)], p) : data.subarray(chunkStart, i));
      this.parts = [];
      chunkStart = i;
      p = 0;
      h = 0;
    }
    if (chunkStart < n) this.parts.push(chunkStart === 0 ? data : data.subarray(chunkStart));
    this.position = p;
    this.hash = h;
  }

  /** Appends the last, short chunk (if any) to `out`. */
  end(out: Buffer[]): void {
    if (this.position > 0) out.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.position));
    this.parts = [];
    this.position = 0;
    this.hash = 0;
  }
}

/**
 * Incremental chunker: push buffers, get whole chunks back, hashed on this thread. It keeps at most
 * one partial chunk (< maxSize) between pushes, so memory stays bounded whatever the stream length.
 */
export class Chunker {
  private readonly cutter: Cutter;

  constructor(params: ChunkerParams = DEFAULT_CHUNKER) {
    this.cutter = new Cutter(params);
  }

  push(data: Buffer): Chunk[] {
    const pieces: Buffer[] = [];
    this.cutter.push(data, pieces);
    return pieces.map((piece) => ({ hash: sha256Hex(piece), data: piece }));
  }

  end(): Chunk[] {
    const pieces: Buffer[] = [];
    this.cutter.end(pieces);
    return pieces.map((piece) => ({ hash: sha256Hex(piece), data: piece }));
  }
}

/**
 * Chunks a stream; the consumer's pace is the reader's pace (back-pressure through the iterator).
 * Cutting runs here and SHA-256 on a worker thread, pipelined (see hashPipeline.ts), so both cores
 * work; the output is the same as Chunker's. `tarMembers`: the stream is a tar, and every member
 * of it starts a chunk (see tarAligned.ts).
 */
export function chunkStream(source: Readable | AsyncIterable<Buffer>, params: ChunkerParams = DEFAULT_CHUNKER, options: { tarMembers?: boolean } = {}): AsyncGenerator<Chunk> {
  const cutter = new Cutter(params);
  return hashPipelined(source, options.tarMembers ? new TarAlignedCutter(cutter) : cutter);
}

export function describeParams(params: ChunkerParams = DEFAULT_CHUNKER): string {
  const k = (n: number) => `${n / 1024} KiB`;
  return `cut at each header of the outer tar, and within members FastCDC normalized (level 2), min ${k(params.minSize)} / avg ${k(params.avgSize)} / max ${k(params.maxSize)}, gear table from SHA-256("wharf-gear-v1-i")`;
}
