/**
 * One open cluster: the etcd3 client plus the two rules every read and write follows here.
 * Reads are linearizable while the cluster has a quorum; when it does not, they fall back to
 * serializable reads from whichever member answers and say so (`stale`). Writes get a deadline,
 * and a write that fails for want of a leader becomes a `quorum-lost` error that says how many
 * members answer, instead of a bare timeout.
 */
import type { CallOptions } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { WharfError } from '../core/errors';
import { clientOptions, type ClusterConfig } from './connection';
import type { IOptions } from 'etcd3';
import { etcdError, isQuorumSymptom } from './errors';
import { probeQuorum } from './health';

export interface ClusterOptions {
  /** Deadline for one linearizable read before falling back to a serializable one. */
  readTimeoutMs?: number;
  /** Deadline for one write. etcd itself gives up after ~7 s without a leader. */
  writeTimeoutMs?: number;
  /** etcd's --max-request-bytes (default 1.5 MiB): larger values are refused before sending. */
  maxRequestBytes?: number;
}

export interface ReadContext {
  /** The pooled client, or while degraded one member's own client: read through this one. */
  client: Etcd3;
  serializable: boolean;
  options: CallOptions;
}

export interface ReadResult<T> {
  value: T;
  /** True when the answer came from a serializable read while quorum was lost: maybe not the newest. */
  stale: boolean;
}

export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** After a failed linearizable read, go straight to serializable reads for this long. */
const DEGRADED_MS = 5000;

export class EtcdCluster {
  private degradedUntil = 0;
  private readonly memberClients = new Map<string, Etcd3>();
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly maxRequestBytes: number;

  private constructor(
    readonly config: ClusterConfig,
    readonly client: Etcd3,
    private readonly clientOptions: IOptions,
    options: ClusterOptions,
  ) {
    this.readTimeoutMs = options.readTimeoutMs ?? 2500;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 4000;
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  static async open(config: ClusterConfig, options: ClusterOptions = {}): Promise<EtcdCluster> {
    const resolved = await clientOptions(config);
    return new EtcdCluster(config, new Etcd3(resolved), resolved, options);
  }

  get name(): string {
    return this.config.name;
  }

  /** True while reads are served serializable because the last linearizable one failed. */
  get degraded(): boolean {
    return Date.now() < this.degradedUntil;
  }

  deadline(ms: number): CallOptions {
    return { deadline: new Date(Date.now() + ms) };
  }

  async read<T>(object: string, fn: (context: ReadContext) => Promise<T>): Promise<ReadResult<T>> {
    if (!this.degraded) {
      try {
        return { value: await fn({ client: this.client, serializable: false, options: this.deadline(this.readTimeoutMs) }), stale: false };
      } catch (error) {
        if (!isQuorumSymptom(error)) throw etcdError(error, object);
        this.degradedUntil = Date.now() + DEGRADED_MS;
      }
    }
    // Serializable answers while degraded (linearizable again after the window). The pool retries
    // only three times and may land on dead members each time, so ask every member in turn.
    let lastError: unknown;
    for (const client of [this.client, ...this.config.endpoints.map((endpoint) => this.member(endpoint))]) {
      try {
        return { value: await fn({ client, serializable: true, options: this.deadline(this.readTimeoutMs) }), stale: true };
      } catch (error) {
        if (!isQuorumSymptom(error)) throw etcdError(error, object);
        lastError = error;
      }
    }
    throw etcdError(lastError, object);
  }

  async write<T>(object: string, fn: (options: CallOptions) => Promise<T>): Promise<T> {
    try {
      const value = await fn(this.deadline(this.writeTimeoutMs));
      this.degradedUntil = 0;
      return value;
    } catch (error) {
      if (error instanceof WharfError) throw error;
      if (isQuorumSymptom(error)) {
        const quorum = await probeQuorum(this).catch(() => undefined);
        if (quorum && !quorum.hasQuorum) {
          this.degradedUntil = Date.now() + DEGRADED_MS;
          throw new WharfError({
            code: 'quorum-lost',
            object,
            cause: `cluster ${this.name} has lost quorum: ${quorum.answering} of ${quorum.total} members answer, ${quorum.needed} are needed to write`,
            remedy: 'Restart the stopped members; reads still work (possibly stale) until then',
            inner: error,
          });
        }
      }
      throw etcdError(error, object);
    }
  }

  /** A client bound to one member only, for health probes and serializable reads from it. */
  member(endpoint: string): Etcd3 {
    let client = this.memberClients.get(endpoint);
    if (!client) {
      client = new Etcd3({ ...this.clientOptions, hosts: [endpoint], dialTimeout: 1500 });
      this.memberClients.set(endpoint, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.memberClients.values()) client.close();
    this.memberClients.clear();
    this.client.close();
  }
}
