/**
 * A segment: the unit a host stores (see hostScripts.ts), a plain tar of up to SEGMENT_CHUNKS
 * chunks named 0, 1, ... in the order they were added. The bytes depend only on the chunks, so
 * its name, the SHA-256 of the whole file, is known here before it is sent and checked there with
 * sha256sum. Its chunk list travels beside it (<name>.idx) so chunks an interrupted sync delivered
 * can be found again.
 */
import { createHash, type Hash } from 'node:crypto';
import { TAR_END, tarHeader, tarPadding } from './tarWriter';

/** A ~1 MiB segment costs one file and one `tar -xOf` on the host (see hostScripts.ts). */
export const SEGMENT_CHUNKS = 128;
export const SEGMENT_BYTES = 1 << 20;

/** Where a chunk is on the host. `seg` is a SegmentBuilder until that segment is named. */
export interface Location {
  seg: string | SegmentBuilder;
  member: number;
}

/** One piece of the tar: bytes made here, or a chunk with its stored gzip member (lazily). */
export type Part = { kind: 'raw'; data: Buffer } | { kind: 'chunk'; data: Buffer; packed: () => Promise<Buffer> };

export class SegmentBuilder {
  readonly hashes: string[] = [];
  readonly parts: Part[] = [];
  private readonly digest: Hash = createHash('sha256');
  private rawBytes = 0;
  private pad: Buffer = Buffer.alloc(0);
  /** Set by close(). */
  name: string | undefined;
  /** Bytes of the tar file. */
  size = 0;

  get count(): number {
    return this.hashes.length;
  }

  /** True when adding `bytes` more would pass the segment's bounds. */
  wouldOverflow(bytes: number): boolean {
    return this.count >= SEGMENT_CHUNKS || (this.count > 0 && this.rawBytes + bytes > SEGMENT_BYTES);
  }

  /** Adds a chunk; returns its member number. */
  add(hash: string, data: Buffer, packed: () => Promise<Buffer>): number {
    const member = this.hashes.length;
    this.hashes.push(hash);
    this.raw(Buffer.concat([this.pad, tarHeader(String(member), data.length)]));
    this.digest.update(data);
    this.size += data.length;
    this.parts.push({ kind: 'chunk', data, packed });
    this.pad = tarPadding(data.length);
    this.rawBytes += data.length;
    return member;
  }

  /** Ends the tar and names the segment. */
  close(): string {
    if (this.name) return this.name;
    this.raw(Buffer.concat([this.pad, TAR_END]));
    this.name = this.digest.digest('hex');
    return this.name;
  }

  /** The chunk list stored beside the segment. */
  get index(): string {
    return this.hashes.map((hash) => `${hash}\n`).join('');
  }

  private raw(data: Buffer): void {
    this.digest.update(data);
    this.size += data.length;
    this.parts.push({ kind: 'raw', data });
  }
}

/** The segment name of a location (only once its segment is closed). */
export function segName(location: { seg: string | SegmentBuilder }): string | undefined {
  return typeof location.seg === 'string' ? location.seg : location.seg.name;
}
