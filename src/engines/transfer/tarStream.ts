/**
 * A streaming tar filter for `docker save` archives: passes entries through byte for byte, except
 * the ones the caller asks to blank, whose header is rewritten to size 0 and whose content is
 * dropped. Memory stays bounded: only a header (and PAX/GNU long-name records, capped) is held.
 *
 * Why our own and not tar-stream (a transitive dependency of dockerode): we need the untouched
 * bytes of every header we keep, the exact entry boundaries (to poison the archive on cancel) and
 * no re-serialisation that could change what `docker load` reads. That is ~150 lines; a
 * re-packing library would re-encode every header.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { WharfError } from '../core/errors';
import { TAR_BLOCK, headerName, headerSize } from '../core/tarHeader';

const BLOCK = TAR_BLOCK;
/** Extension records (PAX 'x'/'g', GNU 'L'/'K') larger than this are not held for inspection. */
const MAX_EXTENSION = 1 << 20;

export interface TarEntry {
  name: string;
  size: number;
  type: string;
}

export interface TarFilterOptions {
  /** Asked once per entry header: true drops the entry's content (size 0 in the output). */
  blank?: (entry: TarEntry) => boolean;
  /** Entries whose content the caller wants (small files such as `json`); capped per entry. */
  capture?: (entry: TarEntry) => boolean;
  onCaptured?: (entry: TarEntry, content: Buffer) => void;
  /** Called for each entry whose content was dropped, with the bytes left out. */
  onBlanked?: (entry: TarEntry) => void;
  /** When false nothing is pushed (a scan that only reads). */
  emit?: boolean;
}

type State = 'header' | 'content' | 'trailer';

export class TarFilter extends Transform {
  /** Bytes read from the source archive and bytes written out. */
  bytesIn = 0;
  bytesOut = 0;
  blankedBytes = 0;
  private state: State = 'header';
  private header = Buffer.alloc(0);
  /** Held PAX/GNU records, emitted before the header they apply to. */
  private pending: Buffer[] = [];
  private longName?: string;
  private remaining = 0; // content + padding bytes left in the current entry
  private mode: 'pass' | 'skip' | 'capture' | 'extension' = 'pass';
  private captured: Buffer[] = [];
  private entry?: TarEntry;
  private readonly emitting: boolean;
  /** Set by poison(): a short end is then on purpose, not an error. */
  private spoiled = false;

  constructor(private readonly options: TarFilterOptions = {}) {
    super();
    this.emitting = options.emit !== false;
  }

  /** True when everything pushed so far ends on an entry boundary. */
  get atBoundary(): boolean {
    return this.state === 'header' && this.pending.length === 0;
  }

  /**
   * Called on cancel before ending the stream: makes sure `docker load` on the other side fails
   * instead of seeing a short but well-formed archive. Mid-entry, the truncated entry already makes
   * Go's tar reader fail (unexpected EOF); at a boundary a block with a bad checksum does it.
   */
  poison(): void {
    this.spoiled = true;
    if (this.state === 'trailer') return; // the archive was complete: nothing to spoil
    if (this.atBoundary) this.out(Buffer.alloc(BLOCK, 0x55));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.bytesIn += chunk.length;
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (!this.spoiled && (this.state === 'content' || this.header.length > 0)) {
      callback(new WharfError({ code: 'interrupted', object: 'image archive', cause: 'the archive ended in the middle of an entry' }));
      return;
    }
    callback();
  }

  private out(buffer: Buffer): void {
    if (!this.emitting || buffer.length === 0) return;
    this.bytesOut += buffer.length;
    this.push(buffer);
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'trailer') {
        this.out(chunk.subarray(offset));
        return;
      }
      if (this.state === 'header') {
        const need = BLOCK - this.header.length;
        const piece = chunk.subarray(offset, offset + need);
        this.header = this.header.length ? Buffer.concat([this.header, piece]) : Buffer.from(piece);
        offset += piece.length;
        if (this.header.length === BLOCK) {
          const block = this.header;
          this.header = Buffer.alloc(0);
          this.onHeader(block);
        }
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      this.onContent(piece);
      if (this.remaining === 0) this.endEntry();
    }
  }

  private onHeader(block: Buffer): void {
    if (block.every((byte) => byte === 0)) {
      // End of archive: two zero blocks. Everything from here on passes as is.
      this.flushPending();
      this.state = 'trailer';
      this.out(block);
      return;
    }
    if (!checksumOk(block)) {
      throw new WharfError({ code: 'failed', object: 'image archive', cause: 'a tar header has a bad checksum', remedy: 'Check the source engine; the archive is damaged' });
    }
    const type = String.fromCharCode(block[156] || 0x30);
    const size = headerSize(block);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const entry: TarEntry = { name: this.longName ?? headerName(block), size, type };
    this.entry = entry;
    this.remaining = padded;
    this.captured = [];
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      // Held back with its header, so the entry it describes can still be blanked (or not).
      this.mode = size <= MAX_EXTENSION ? 'extension' : 'pass';
      if (this.mode === 'extension') this.pending.push(block);
      else {
        this.flushPending();
        this.out(block);
      }
    } else {
      const paxSize = this.pending.length > 0 && this.pendingHasSize();
      const isFile = type === '0' || type === '\0' || type === '7';
      if (isFile && size > 0 && !paxSize && this.options.blank?.(entry)) {
        this.mode = 'skip';
        this.flushPending();
        this.out(withSizeZero(block));
        this.blankedBytes += padded;
        this.options.onBlanked?.(entry);
      } else {
        this.mode = isFile && size <= MAX_EXTENSION && this.options.capture?.(entry) ? 'capture' : 'pass';
        this.flushPending();
        this.out(block);
      }
      this.longName = undefined;
    }
    if (padded === 0) this.endEntry();
    else this.state = 'content';
  }

  private onContent(piece: Buffer): void {
    switch (this.mode) {
      case 'skip':
        return;
      case 'extension':
        this.pending.push(Buffer.from(piece));
        this.captured.push(Buffer.from(piece));
        return;
      case 'capture':
        this.captured.push(Buffer.from(piece));
        this.out(piece);
        return;
      default:
        this.out(piece);
    }
  }

  private endEntry(): void {
    const entry = this.entry;
    this.state = 'header';
    if (!entry) return;
    if (this.mode === 'extension') {
      const body = Buffer.concat(this.captured).subarray(0, entry.size);
      if (entry.type === 'L') this.longName = body.toString('utf8').replace(/\0.*$/s, '');
      if (entry.type === 'x') {
        const path = paxRecords(body).get('path');
        if (path) this.longName = path;
      }
    } else if (this.mode === 'capture') {
      this.options.onCaptured?.(entry, Buffer.concat(this.captured).subarray(0, entry.size));
    }
    this.captured = [];
    this.entry = undefined;
  }

  private pendingHasSize(): boolean {
    // PAX records can override the header's size; such an entry is never blanked (kept intact).
    return this.pending.some((buffer) => buffer.includes(' size='));
  }

  private flushPending(): void {
    for (const buffer of this.pending.splice(0)) this.out(buffer);
  }
}

function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : block[index];
  return sum;
}

function checksumOk(block: Buffer): boolean {
  const text = block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  return parseInt(text, 8) === checksumOf(block);
}

function withSizeZero(block: Buffer): Buffer {
  const copy = Buffer.from(block);
  copy.write('00000000000\0', 124, 12, 'latin1');
  const sum = checksumOf(copy);
  copy.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return copy;
}

/** PAX records: "<len> <key>=<value>\n". */
function paxRecords(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(body.subarray(offset, space).toString('latin1'), 10);
    if (!length) break;
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    offset += length;
  }
  return records;
}
