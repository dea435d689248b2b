/**
 * Runs writes one after another in the order they were added, while the caller goes on preparing
 * later ones (a sync fills the next segment while the last one, waiting for its chunks' gzip
 * members, is still going out).
 * `add` waits only when `limit` writes are queued, which bounds memory.
 */
export class OrderedQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private failure: unknown;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit = 64) {}

  async add(write: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    this.queued++;
    this.tail = this.tail
      .then(() => (this.failure ? undefined : write()))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.queued--;
        this.waiting.shift()?.();
      });
    while (this.queued > this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) throw this.failure;
  }

  /** Waits for every queued write; throws the first failure. */
  async drain(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure;
  }
}
