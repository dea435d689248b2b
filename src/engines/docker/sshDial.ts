/**
 * The Engine API over SSH, the way the docker CLI does it: `docker system dial-stdio` on the host
 * turns an SSH exec channel into a connection to the host's engine socket. Unlike docker-modem's
 * own ssh:// support (a new SSH handshake per request and no host-key check), one ssh2 connection
 * per host carries every request as a channel, the host key is checked against known_hosts
 * (connectSsh), and a dropped connection is re-opened on the next request.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { WharfError, messageOf } from '../core/errors';
import type { Logger } from '../core/progress';
import { silentLogger } from '../core/progress';
import type { SshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';
import { commandLine } from '../ssh/exec';

/** OpenSSH allows 10 sessions per connection by default (MaxSessions); stay under it. */
export const MAX_CHANNELS = 8;
const DIAL_ARGV = ['docker', 'system', 'dial-stdio'];

export class SshDialer {
  private client?: Promise<Client>;
  private closed = false;
  /** Open channels, so a dropped connection can fail them at once instead of leaving stale keep-alive sockets. */
  private readonly channels = new Set<ClientChannel>();
  /** How many SSH handshakes this dialer made: tests prove reuse with it. */
  handshakes = 0;
  /** Called when the connection goes away, so the agent can forget its idle channels. */
  onDrop?: () => void;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshConnectOptions = {},
    private readonly log: Logger = silentLogger,
  ) {}

  /** A new exec channel running dial-stdio, on the one shared connection. */
  async dial(): Promise<ClientChannel> {
    try {
      return await this.openChannel(await this.connection());
    } catch (error) {
      if (error instanceof WharfError) throw error;
      // The connection may have died between requests without us noticing: retry once on a fresh one.
      this.log.info(`SSH ${this.target.name}: channel failed (${messageOf(error)}); reconnecting`);
      this.drop();
      return this.openChannel(await this.connection());
    }
  }

  private connection(): Promise<Client> {
    if (this.closed) {
      return Promise.reject(new WharfError({ code: 'cancelled', object: `SSH host ${this.target.name}`, cause: 'the connection was closed' }));
    }
    if (!this.client) {
      this.handshakes++;
      const pending = connectSsh(this.target, this.options).then((client) => {
        const forget = () => {
          if (this.client === pending) this.client = undefined;
          this.destroyChannels();
        };
        client.on('close', forget);
        client.on('end', forget);
        client.on('error', (error) => {
          this.log.warn(`SSH ${this.target.name}: ${messageOf(error)}`);
          forget();
        });
        return client;
      });
      // A failed handshake is not cached: the next request tries again.
      pending.catch(() => {
        if (this.client === pending) this.client = undefined;
      });
      this.client = pending;
    }
    return this.client;
  }

  private openChannel(client: Client): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      client.exec(commandLine(DIAL_ARGV), (error, channel) => {
        if (error) return reject(error);
        this.channels.add(channel);
        channel.once('close', () => this.channels.delete(channel));
        // dial-stdio reports its own failures (no docker CLI, no engine) on stderr, then exits.
        let stderr = '';
        channel.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < 4096) stderr += chunk.toString('utf8');
        });
        channel.on('exit', (code: number | null) => {
          if (code && !channel.destroyed) {
            (channel as unknown as Duplex).destroy(
              new WharfError({
                code: 'unreachable',
                object: `engine on ${this.target.name}`,
                cause: `\`docker system dial-stdio\` exited with ${code}: ${stderr.trim() || 'no message'}`,
                remedy: 'Check that the docker CLI is installed on the host and reaches its engine (DOCKER_HOST there)',
              }),
            );
          }
        });
        resolve(channel);
      });
    });
  }

  /** Closes the SSH connection as a network failure would; the next request reconnects. */
  dropConnection(): void {
    this.drop();
  }

  private destroyChannels(): void {
    this.onDrop?.();
    for (const channel of this.channels) (channel as unknown as Duplex).destroy();
    this.channels.clear();
  }

  private drop(): void {
    const pending = this.client;
    this.client = undefined;
    this.destroyChannels();
    void pending?.then((client) => client.end(), () => undefined);
  }

  dispose(): void {
    this.closed = true;
    this.drop();
  }
}

/**
 * An http.Agent whose sockets are dial-stdio channels. Keep-alive reuses a channel for the next
 * request, which saves starting `docker system dial-stdio` on the host each time.
 */
export class DialStdioAgent extends http.Agent {
  constructor(private readonly dialer: SshDialer) {
    super({ keepAlive: true, maxSockets: MAX_CHANNELS, maxFreeSockets: 2 });
    // ssh2's channel.destroy() does not mark the stream destroyed at once, so the agent would hand
    // out an idle channel of a dead connection: drop the idle ones ourselves.
    dialer.onDrop = () => {
      const free = this.freeSockets as Record<string, unknown[] | undefined>;
      for (const key of Object.keys(free)) delete free[key];
    };
  }

  override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): Duplex | undefined {
    this.dialer.dial().then(
      (channel) => callback(null, asSocket(channel)),
      (error: Error) => callback(error),
    );
    return undefined;
  }

  // net.Socket calls that a channel does not have: keep-alive bookkeeping only.
  override keepSocketAlive(): boolean {
    return true;
  }

  override reuseSocket(): void {
    /* nothing to re-reference */
  }

  override destroy(): void {
    super.destroy();
    this.dialer.dispose();
  }
}

/** Adds the few net.Socket methods Node's HTTP client may call on a socket. */
function asSocket(channel: ClientChannel): Duplex {
  const socket = channel as ClientChannel & Record<string, unknown>;
  const self = () => socket;
  for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof socket[name] !== 'function') socket[name] = self;
  }
  return socket;
}
