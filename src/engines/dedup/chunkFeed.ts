/**
 * Hands chunks from a save being cut to the stream that sends them, through a bounded buffer: the
 * save starts while SSH connects and the host says what it holds (~0.25 s that a small image's
 * whole sync would otherwise wait), and waits when the sender falls `limit` bytes behind.
 */
export interface FedChunk {
  hash: string;
  data: Buffer;
  packed: () => Promise<Buffer>;
}

export class ChunkFeed {
  private items: FedChunk[] = [];
  private head = 0;
  private bytes = 0;
  private ended = false;
  private failure: unknown;
  private closed = false;
  private wake: (() => void) | undefined;
  private space: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  /** Adds a chunk; resolves once the buffer is below its limit (or nobody reads any more). */
  async push(item: FedChunk): Promise<void> {
    if (this.closed) return;
    this.items.push(item);
    this.bytes += item.data.length;
    this.signal();
    while (this.bytes > this.limit && !this.closed) await new Promise<void>((resolve) => (this.space = resolve));
  }

  /** No more chunks; with `failure`, the reader throws it after the buffered ones. */
  end(failure?: unknown): void {
    this.ended = true;
    this.failure = failure;
    this.signal();
  }

  /** The reader is gone: drop what is buffered and never make the writer wait again. */
  close(): void {
    this.closed = true;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.release();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<FedChunk> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head++];
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        this.bytes -= item.data.length;
        if (this.bytes <= this.limit) this.release();
        yield item;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private release(): void {
    const space = this.space;
    this.space = undefined;
    space?.();
  }
}
