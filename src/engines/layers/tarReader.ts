/**
 * A streaming tar reader that never holds more than one chunk plus one header. `docker save`
 * gives a tar of tars; a layer entry is read in place as a tar of its own through a byte window, so
 * even a multi-gigabyte image passes through bounded memory.
 */
import { TAR_BLOCK, cString, headerName, headerSize } from '../core/tarHeader';

const BLOCK = TAR_BLOCK;

export interface TarHeader {
  name: string;
  size: number;
  typeflag: string;
  linkname: string;
}

/** Pulls exact byte counts from an async stream of buffers. */
export class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(stream: AsyncIterable<Buffer | string>) {
    const source = stream[Symbol.asyncIterator]();
    this.iterator = {
      next: async () => {
        const result = await source.next();
        return result.done ? result : { done: false, value: typeof result.value === 'string' ? Buffer.from(result.value) : result.value };
      },
    };
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
      else if (next.value.length) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const take = Math.min(n, this.buffered);
    const joined = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = joined.subarray(0, take);
    const rest = joined.subarray(take);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Calls `each` with consecutive pieces of the next n bytes, without joining them. */
  async forEach(n: number, each: (piece: Buffer) => void | Promise<void>): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) break;
      const chunk = this.chunks[0];
      const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
      if (piece.length === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(piece.length);
      this.buffered -= piece.length;
      left -= piece.length;
      await each(piece);
    }
    return n - left;
  }

  async skip(n: number): Promise<void> {
    await this.forEach(n, () => undefined);
  }

  /** Takes up to `max` bytes from the buffered front, pulling one chunk when empty. */
  async take(max: number): Promise<Buffer | undefined> {
    if (max <= 0) return undefined;
    if (this.buffered === 0 && !(await this.fill(1))) return undefined;
    const chunk = this.chunks[0];
    const piece = chunk.length > max ? chunk.subarray(0, max) : chunk;
    if (piece.length === chunk.length) this.chunks.shift();
    else this.chunks[0] = chunk.subarray(piece.length);
    this.buffered -= piece.length;
    return piece;
  }

  /** A source over the next n bytes only (a nested tar), sharing this one's buffer. */
  window(n: number): ByteSource {
    const take = (max: number) => this.take(max);
    let left = n;
    return new ByteSource({
      [Symbol.asyncIterator]: () => ({
        async next(): Promise<IteratorResult<Buffer>> {
          const piece = await take(left);
          if (!piece) return { done: true, value: undefined };
          left -= piece.length;
          return { done: false, value: piece };
        },
      }),
    });
  }
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's bytes; whatever the consumer leaves unread is skipped. */
  body: ByteSource;
}

/** Yields each entry; the body must be consumed (or left) before asking for the next one. */
export async function* readTar(source: ByteSource): AsyncGenerator<TarEntry> {
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    const block = await source.read(BLOCK);
    if (block.length < BLOCK) return;
    if (block.every((byte) => byte === 0)) return;
    const size = headerSize(block);
    const typeflag = String.fromCharCode(block[156] || 0x30);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x' || typeflag === 'L' || typeflag === 'K' || typeflag === 'g') {
      const data = (await source.read(padded)).subarray(0, size);
      if (typeflag === 'x') pax = parsePax(data.toString('utf8'));
      else if (typeflag === 'L') longName = cString(data);
      else if (typeflag === 'K') longLink = cString(data);
      continue;
    }
    const header: TarHeader = {
      name: pax.path ?? longName ?? headerName(block),
      size: pax.size ? Number(pax.size) : size,
      typeflag,
      linkname: pax.linkpath ?? longLink ?? cString(block.subarray(157, 257)),
    };
    longName = longLink = undefined;
    pax = {};
    const body = source.window(header.size);
    yield { header, body };
    // Whatever the consumer left of the body, then the padding to the next block.
    await body.skip(header.size);
    await source.skip(Math.ceil(header.size / BLOCK) * BLOCK - header.size);
  }
}

function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest.length) {
    const space = rest.indexOf(' ');
    const length = parseInt(rest.slice(0, space), 10);
    if (!length || space < 0) break;
    const record = Buffer.from(rest).subarray(0, length).toString('utf8');
    const body = record.slice(space + 1, record.endsWith('\n') ? -1 : undefined);
    const eq = body.indexOf('=');
    if (eq > 0) out[body.slice(0, eq)] = body.slice(eq + 1);
    rest = Buffer.from(rest).subarray(length).toString('utf8');
  }
  return out;
}
