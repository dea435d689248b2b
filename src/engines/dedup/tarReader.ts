/**
 * Reads regular-file members out of a tar stream pushed in pieces (several archives back to back
 * are fine: zero blocks are skipped). Used to hash chunks pulled back from a host without sha256sum.
 */
const BLOCK = 512;

export class TarReader {
  private buffered: Buffer[] = [];
  private size = 0;

  constructor(private readonly onFile: (name: string, data: Buffer) => void) {}

  push(piece: Buffer): void {
    this.buffered.push(piece);
    this.size += piece.length;
    let data = Buffer.concat(this.buffered, this.size);
    let offset = 0;
    while (data.length - offset >= BLOCK) {
      const header = data.subarray(offset, offset + BLOCK);
      if (header.every((byte) => byte === 0)) {
        offset += BLOCK;
        continue;
      }
      const length = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
      const padded = Math.ceil(length / BLOCK) * BLOCK;
      if (data.length - offset < BLOCK + padded) break;
      const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      if (header[156] === 0x30 || header[156] === 0) this.onFile(name.replace(/^\.\//, ''), data.subarray(offset + BLOCK, offset + BLOCK + length));
      offset += BLOCK + padded;
    }
    data = data.subarray(offset);
    this.buffered = data.length ? [Buffer.from(data)] : [];
    this.size = data.length;
  }
}
