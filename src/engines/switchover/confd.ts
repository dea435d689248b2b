/**
 * `wharf confd`: keeps a proxy's backend equal to the set under an etcd prefix, in confd's key
 * layout (`/app/upstream/<name>` = `host:port`).
 *  - Lists, then watches from the listing's revision with the etcd engine's PrefixWatch, which
 *    re-lists after a compaction cancel and reconnects (to another member) when a stream breaks.
 *  - Applies changes one at a time, coalescing bursts; never applies an empty set (the proxy keeps
 *    the last good one, and the log says why).
 *  - After each apply, publishes the revision it reflects under a status key, so a switchover can
 *    wait for "the proxy has caught up with my write".
 */
import { messageOf } from '../core/errors';
import { silentLogger, type Logger } from '../core/progress';
import type { EtcdCluster } from '../etcd/cluster';
import { put } from '../etcd/edit';
import { iterateValues, prefixEnd } from '../etcd/keyspace';
import { PrefixWatch, type WatchEvent } from '../etcd/watch';
import { sleep } from './http';
import type { ProxyDriver, UpstreamServer } from './proxy/types';

export interface ConfdOptions {
  cluster: EtcdCluster;
  prefix: string;
  /** Where the applied revision is published, e.g. /app/status/confd/applied_revision. */
  statusKey: string;
  driver: ProxyDriver;
  log?: Logger;
  /** Changes arriving within this window are applied together. */
  debounceMs?: number;
  /** Watch heartbeat: a dead stream is noticed within about three of these. */
  heartbeatMs?: number;
  /** Give up starting after this long without a first listing. */
  startWithinMs?: number;
}

export interface ConfdStats {
  applies: number;
  skippedEmpty: number;
  failures: number;
  resyncs: number;
  reconnects: number;
  appliedRevision: string;
  servers: UpstreamServer[];
}

export class Confd {
  private readonly values = new Map<string, string>();
  private revision = '0';
  private dirty = false;
  private running: Promise<void> | undefined;
  private watch: PrefixWatch | undefined;
  private closed = false;
  private readonly log: Logger;
  private readonly listeners: ((revision: string) => void)[] = [];
  readonly stats: ConfdStats = { applies: 0, skippedEmpty: 0, failures: 0, resyncs: 0, reconnects: 0, appliedRevision: '0', servers: [] };

  private constructor(private readonly options: ConfdOptions) {
    this.log = options.log ?? silentLogger;
  }

  static async start(options: ConfdOptions): Promise<Confd> {
    const confd = new Confd(options);
    const until = Date.now() + (options.startWithinMs ?? 30_000);
    let revision: string;
    for (;;) {
      try {
        revision = await confd.relist();
        break;
      } catch (error) {
        if (Date.now() > until) throw error;
        confd.log.warn(`confd: first listing of ${options.prefix} failed (${messageOf(error)}); retrying`);
        await sleep(500);
      }
    }
    confd.watch = new PrefixWatch(options.cluster, {
      prefix: options.prefix,
      revision,
      heartbeatMs: options.heartbeatMs ?? 1000,
      log: confd.log,
      onEvents: (events, at) => confd.onEvents(events, at),
      onResync: () => confd.relist(),
    });
    return confd;
  }

  get label(): string {
    return `${this.options.driver.label} from ${this.options.prefix}`;
  }

  /** Called with each published revision (tests and the CLI's log). */
  onApplied(listener: (revision: string) => void): void {
    this.listeners.push(listener);
  }

  private onEvents(events: WatchEvent[], revision: string): void {
    for (const event of events) {
      const name = event.key.slice(this.options.prefix.length);
      if (event.type === 'put') this.values.set(name, event.entry.value.toString('utf8').trim());
      else this.values.delete(name);
    }
    this.revision = revision;
    this.schedule();
  }

  /** The whole prefix at one revision; replaces what we had (events may have been lost). */
  private async relist(): Promise<string> {
    const { cluster, prefix } = this.options;
    const head = await cluster.read(`etcd prefix ${prefix}`, ({ client, serializable, options }) =>
      client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix), count_only: true, serializable }, options),
    );
    const revision = head.value.header.revision;
    const fresh = new Map<string, string>();
    for await (const entry of iterateValues(cluster, prefix, 500, revision)) fresh.set(entry.key.slice(prefix.length), entry.value.toString('utf8').trim());
    this.values.clear();
    for (const [key, value] of fresh) this.values.set(key, value);
    this.revision = revision;
    if (this.watch) this.stats.resyncs++;
    this.schedule();
    return revision;
  }

  private schedule(): void {
    this.dirty = true;
    if (!this.running && !this.closed) this.running = this.loop().finally(() => (this.running = undefined));
  }

  private async loop(): Promise<void> {
    await sleep(this.options.debounceMs ?? 30);
    let failures = 0;
    while (this.dirty && !this.closed) {
      this.dirty = false;
      const revision = this.revision;
      const servers = [...this.values].map(([name, address]) => ({ name, address }));
      if (servers.length === 0) {
        this.stats.skippedEmpty++;
        this.log.warn(`confd: ${this.options.prefix} is empty at revision ${revision}; keeping the proxy's last set (an empty upstream serves nothing)`);
        continue;
      }
      try {
        await this.options.driver.apply(servers, this.log);
        failures = 0;
        this.stats.applies++;
        this.stats.servers = servers;
        this.log.info(`confd: applied ${servers.length} server(s) at revision ${revision}: ${servers.map((s) => `${s.name}=${s.address}`).join(', ')}`);
        await this.publish(revision);
      } catch (error) {
        this.stats.failures++;
        failures++;
        this.log.error(`confd: applying revision ${revision} to ${this.options.driver.label} failed: ${messageOf(error)}`);
        this.dirty = true;
        await sleep(Math.min(200 * 2 ** failures, 5000));
      }
    }
  }

  /** Writes the revision; keeps trying (another member, later) while nothing newer replaced it. */
  private async publish(revision: string): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await put(this.options.cluster, this.options.statusKey, Buffer.from(revision));
        this.stats.appliedRevision = revision;
        for (const listener of this.listeners) listener(revision);
        return;
      } catch (error) {
        if (this.dirty) return; // a newer set is waiting; its publish supersedes this one
        this.log.warn(`confd: publishing revision ${revision} failed (${messageOf(error)}); retrying`);
        await sleep(Math.min(200 * attempt, 2000));
      }
    }
  }

  /** Waits until everything seen so far is applied (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.watch) {
      this.stats.reconnects = this.watch.reconnects;
      this.watch.close();
    }
    await this.running?.catch(() => undefined);
    await this.options.driver.close?.();
  }

  watchCounters(): { resyncs: number; reconnects: number } {
    return { resyncs: this.watch?.resyncs ?? 0, reconnects: this.watch?.reconnects ?? 0 };
  }
}
