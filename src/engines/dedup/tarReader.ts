/**
 * Reads regular-file members out of a tar stream pushed in pieces (several archives back to back
 * are fine: zero blocks are skipped). Used to hash segments pulled back from a host without
 * sha256sum. A member's pieces are kept until it is whole, then joined once.
 */
const BLOCK = 512;

export class TarReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The member being read: its name, content length and the bytes (with padding) still owed. */
  private current: { name: string; length: number; regular: boolean; owed: number } | undefined;
  private body: Buffer[] = [];

  constructor(private readonly onFile: (name: string, data: Buffer) => void) {}

  push(piece: Buffer): void {
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    for (;;) {
      if (this.current) {
        if (this.pendingBytes === 0) return;
        const take = this.take(Math.min(this.current.owed, this.pendingBytes));
        this.body.push(take);
        this.current.owed -= take.length;
        if (this.current.owed > 0) return;
        const { name, length, regular } = this.current;
        this.current = undefined;
        const data = Buffer.concat(this.body).subarray(0, length);
        this.body = [];
        if (regular) this.onFile(name, data);
        continue;
      }
      if (this.pendingBytes < BLOCK) return;
      const header = this.take(BLOCK);
      if (header.every((byte) => byte === 0)) continue;
      const length = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
      const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '').replace(/^\.\//, '');
      this.current = { name, length, regular: header[156] === 0x30 || header[156] === 0, owed: Math.ceil(length / BLOCK) * BLOCK };
      if (this.current.owed === 0) {
        this.current = undefined;
        if (header[156] === 0x30 || header[156] === 0) this.onFile(name, Buffer.alloc(0));
      }
    }
  }

  /** The next `bytes` of what was pushed (bytes ≤ pendingBytes). */
  private take(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let need = bytes;
    while (need > 0) {
      const head = this.pending[0];
      if (head.length <= need) {
        parts.push(head);
        this.pending.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.pending[0] = head.subarray(need);
        need = 0;
      }
    }
    this.pendingBytes -= bytes;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
