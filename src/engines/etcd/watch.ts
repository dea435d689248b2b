/**
 * A prefix watch that misses nothing. etcd3's own watcher drops out when the server cancels a
 * watch whose start revision was compacted; this one talks to the Watch stream directly and:
 *  - on a compaction cancel, asks its owner to re-list (onResync) and watches again from the
 *    revision of that listing;
 *  - on a broken or silent stream, reconnects from the last revision it saw, so events are
 *    replayed (or, if they were compacted meanwhile, the cancel above triggers a re-list);
 *  - sends a progress request every heartbeat; any answer proves the stream alive and moves the
 *    known revision forward even when nothing changes.
 */
import type { IDuplexStream, IKeyValue, IWatchRequest, IWatchResponse } from 'etcd3';
import { messageOf } from '../core/errors';
import { silentLogger, type Logger } from '../core/progress';
import type { EtcdCluster } from './cluster';
import { iterateValues, prefixEnd, toEntry, type KeyEntry } from './keyspace';

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  entry: KeyEntry;
}

export interface PrefixWatchOptions {
  prefix: string;
  /** The revision the owner's current view reflects; events after it are delivered. Absent: from now. */
  revision?: string;
  onEvents(events: WatchEvent[], revision: string): void;
  /** Events may have been lost (compaction): re-list and return the revision of the new listing. */
  onResync(reason: string): Promise<string>;
  /** The watch exists on the server from this revision on (the first time only). */
  onStarted?(revision: string): void;
  heartbeatMs?: number;
  /** No answer for this long (not even to a progress request) means the stream is dead. */
  silenceMs?: number;
  log?: Logger;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class PrefixWatch {
  private stream: Stream | undefined;
  private lastHeard = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private suspended = false;
  private generation = 0;
  private failures = 0;
  /** Every revision up to this one has been delivered (or covered by a re-list); undefined until the first answer when started "from now". */
  revision: string | undefined;
  resyncs = 0;
  reconnects = 0;
  private readonly log: Logger;

  constructor(
    private readonly cluster: EtcdCluster,
    private readonly options: PrefixWatchOptions,
  ) {
    this.revision = options.revision;
    this.log = options.log ?? silentLogger;
    const heartbeat = options.heartbeatMs ?? 5000;
    const silence = options.silenceMs ?? heartbeat * 3;
    this.timer = setInterval(() => this.beat(silence), heartbeat);
    this.timer.unref?.();
    void this.connect();
  }

  private beat(silenceMs: number): void {
    if (this.closed || this.suspended || !this.stream) return;
    if (Date.now() - this.lastHeard > silenceMs) {
      this.restart(`silent for ${Date.now() - this.lastHeard} ms`);
      return;
    }
    try {
      this.stream.write({ progress_request: {} });
    } catch {
      /* the stream's error handler reconnects */
    }
  }

  /** Drops the stream and reconnects from the last known revision. */
  restart(reason: string): void {
    if (this.closed) return;
    this.log.info(`etcd watch ${this.options.prefix || '(all)'}: reconnecting (${reason})`);
    this.reconnects++;
    this.drop();
    void this.connect();
  }

  private drop(): void {
    this.generation++;
    const stream = this.stream;
    this.stream = undefined;
    try {
      stream?.cancel();
    } catch {
      /* already gone */
    }
  }

  private scheduleReconnect(reason: string): void {
    if (this.closed || this.suspended || this.retryTimer) return;
    this.failures++;
    const delay = Math.min(200 * 2 ** Math.min(this.failures, 5), 5000);
    this.log.warn(`etcd watch ${this.options.prefix || '(all)'}: ${reason}; retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconnects++;
      void this.connect();
    }, delay);
    this.retryTimer.unref?.();
  }

  private async connect(): Promise<void> {
    if (this.closed || this.suspended) return;
    const generation = ++this.generation;
    let stream: Stream;
    try {
      stream = await this.cluster.client.watchClient.watch();
    } catch (error) {
      this.scheduleReconnect(messageOf(error));
      return;
    }
    if (generation !== this.generation || this.closed) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    this.lastHeard = Date.now();
    stream.on('data', (response: IWatchResponse) => {
      if (generation === this.generation) this.onData(response);
    });
    stream.on('error', (error: Error) => {
      if (generation === this.generation) {
        this.stream = undefined;
        this.scheduleReconnect(messageOf(error));
      }
    });
    stream.on('end', () => {
      if (generation === this.generation) {
        this.stream = undefined;
        this.scheduleReconnect('stream ended');
      }
    });
    const prefix = Buffer.from(this.options.prefix);
    stream.write({
      create_request: {
        key: prefix.length ? prefix : Buffer.from([0]),
        range_end: prefixEnd(prefix),
        start_revision: this.revision !== undefined ? String(BigInt(this.revision) + 1n) : undefined,
        progress_notify: true,
      },
    });
  }

  private onData(response: IWatchResponse): void {
    this.lastHeard = Date.now();
    if (response.created) {
      this.failures = 0;
      // Started "from now": the creation answer's revision is where we stand.
      if (this.revision === undefined) {
        this.revision = response.header?.revision;
        if (this.revision !== undefined) this.options.onStarted?.(this.revision);
      }
    }
    if (response.canceled) {
      if (response.compact_revision && response.compact_revision !== '0') {
        void this.resync(`revision ${this.revision} was compacted (now ${response.compact_revision})`);
      } else {
        this.drop();
        this.scheduleReconnect(`watch cancelled: ${response.cancel_reason || 'no reason given'}`);
      }
      return;
    }
    const events = (response.events ?? []).map((event) => toEvent(event.type as unknown as string, event.kv));
    if (events.length) {
      const last = events[events.length - 1].entry.modRevision;
      if (this.revision === undefined || BigInt(last) > BigInt(this.revision)) this.revision = last;
      this.options.onEvents(events, last);
    } else if (!response.created && response.header?.revision && this.revision !== undefined && BigInt(response.header.revision) > BigInt(this.revision)) {
      // A progress answer: nothing under our prefix changed up to this revision.
      this.revision = response.header.revision;
    }
  }

  private async resync(reason: string): Promise<void> {
    this.drop();
    this.resyncs++;
    this.log.info(`etcd watch ${this.options.prefix || '(all)'}: re-listing (${reason})`);
    try {
      this.revision = await this.options.onResync(reason);
      if (!this.closed) void this.connect();
    } catch (error) {
      // The re-list failed (cluster down?): try the whole resync again later.
      this.scheduleResync(messageOf(error), reason);
    }
  }

  private scheduleResync(error: string, reason: string): void {
    if (this.closed) return;
    this.failures++;
    const delay = Math.min(200 * 2 ** Math.min(this.failures, 5), 5000);
    this.log.warn(`etcd watch ${this.options.prefix || '(all)'}: re-list failed (${error}); retrying in ${delay} ms`);
    const timer = setTimeout(() => void this.resync(reason), delay);
    timer.unref?.();
  }

  /** Stops receiving (e.g. while the view is hidden) and keeps the revision to resume from. */
  suspend(): void {
    this.suspended = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.drop();
  }

  /** Continues from the last revision seen: replays what changed meanwhile, or re-lists if that was compacted. */
  resume(): void {
    if (!this.suspended || this.closed) return;
    this.suspended = false;
    void this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.drop();
  }
}

function toEvent(type: string, kv: IKeyValue): WatchEvent {
  return { type: type === 'Delete' || type === 'DELETE' || type === '1' ? 'delete' : 'put', key: kv.key.toString(), entry: toEntry(kv) };
}

/**
 * The values under a prefix, kept current by a PrefixWatch: list, then watch from the listing's
 * revision; on a compaction cancel, list again. What the editor shows and what tests compare.
 */
export class PrefixMirror {
  readonly values = new Map<string, Buffer>();
  private watch: PrefixWatch | undefined;
  private listeners: ((events: WatchEvent[]) => void)[] = [];

  private constructor(
    private readonly cluster: EtcdCluster,
    readonly prefix: string,
  ) {}

  static async start(cluster: EtcdCluster, prefix: string, options: Partial<Pick<PrefixWatchOptions, 'heartbeatMs' | 'silenceMs' | 'log'>> = {}): Promise<PrefixMirror> {
    const mirror = new PrefixMirror(cluster, prefix);
    const revision = await mirror.relist();
    mirror.watch = new PrefixWatch(cluster, {
      ...options,
      prefix,
      revision,
      onEvents: (events) => mirror.apply(events),
      onResync: () => mirror.relist(),
    });
    return mirror;
  }

  get watcher(): PrefixWatch {
    if (!this.watch) throw new Error('mirror not started');
    return this.watch;
  }

  onChange(listener: (events: WatchEvent[]) => void): void {
    this.listeners.push(listener);
  }

  private apply(events: WatchEvent[]): void {
    for (const event of events) {
      if (event.type === 'put') this.values.set(event.key, event.entry.value);
      else this.values.delete(event.key);
    }
    for (const listener of this.listeners) listener(events);
  }

  /** Lists every value at one revision and returns that revision. */
  private async relist(): Promise<string> {
    const fresh = new Map<string, Buffer>();
    const head = await this.cluster.read(`etcd prefix ${this.prefix}`, ({ client, serializable, options }) =>
      client.kv.range({ key: Buffer.from(this.prefix.length ? this.prefix : '\0'), range_end: prefixEnd(this.prefix), count_only: true, serializable }, options),
    );
    const revision = head.value.header.revision;
    for await (const entry of iterateValues(this.cluster, this.prefix, 500, revision)) fresh.set(entry.key, entry.value);
    this.values.clear();
    for (const [key, value] of fresh) this.values.set(key, value);
    for (const listener of this.listeners) listener([]);
    return revision;
  }

  close(): void {
    this.watch?.close();
  }
}
