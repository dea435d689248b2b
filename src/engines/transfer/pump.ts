/**
 * Feeds a stream into a command on an SSH host (`docker load`, `docker import -`) through one exec
 * channel: no temporary file on either side, backpressure end to end, byte counts and a throttled
 * progress report. On cancel the caller's `spoil` makes the archive fail to load, the channel's
 * input is ended so the remote command exits, and only then is the channel closed.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { WharfError, messageOf } from '../core/errors';
import type { ProgressSink } from '../core/progress';
import { openExec } from '../ssh/exec';

/**
 * Counts bytes as they pass, as a stage of its own. (A 'data' listener added before the stream is
 * piped would switch it to flowing mode and lose what flowed in between; pumpToRemote counts with a
 * listener added together with its pipe, so it needs no stage.)
 */
export class Meter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes?: () => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.();
    callback(null, chunk);
  }
}

export interface RemoteExit {
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface PumpOptions {
  /** The first stream (e.g. `docker save`): destroyed on cancel or failure. */
  source: Readable;
  /** The last stream of the local chain (source → … → tail): piped into the channel. */
  tail: Readable;
  /** Called on cancel/failure before the tail is ended (e.g. TarFilter.poison + end). */
  spoil: () => void;
  signal?: AbortSignal;
  /** How long to wait for the remote command to exit after its input ended on cancel. */
  exitTimeoutMs?: number;
  /** Called as bytes go into the channel (e.g. a throttled progress tick). */
  onWire?: () => void;
  /** The command's channel when the caller started it early (see startRemote); else it is opened here. */
  channel?: ClientChannel;
}

const CAP = 256 * 1024;

export interface PumpResult extends RemoteExit {
  cancelled: boolean;
  localError?: unknown;
  /** Bytes written into the channel. */
  wireBytes: number;
}

/**
 * Starts ARGV on the host at once, so its session and process start while the local side is still
 * getting ready. If the caller then gives up, `abandon` ends the command's input before any byte
 * went in: `docker load`/`docker import` fail on an empty archive and leave nothing behind.
 */
export function startRemote(client: Client, argv: string[], host: string): { channel: Promise<ClientChannel>; abandon(): void } {
  const channel = openExec(client, argv).catch((error: unknown) => {
    throw new WharfError({ code: 'unreachable', object: `SSH host ${host}`, cause: `could not start ${argv.slice(0, 2).join(' ')}: ${messageOf(error)}`, remedy: 'Check the connection and try again', inner: error });
  });
  channel.catch(() => undefined); // reported where it is awaited
  return {
    channel,
    abandon: () => void channel.then((opened) => opened.end(), () => undefined),
  };
}

/** Runs ARGV on the host with the tail as its stdin; resolves with the exit status. */
export async function pumpToRemote(client: Client, argv: string[], options: PumpOptions): Promise<PumpResult> {
  const channel: ClientChannel = options.channel ?? (await openExec(client, argv));
  const { source, tail, signal } = options;
  let cancelled = false;
  let localError: unknown;
  let stdout = '';
  let stderr = '';
  let wireBytes = 0;
  channel.on('data', (chunk: Buffer) => {
    if (stdout.length < CAP) stdout += chunk.toString('utf8');
  });
  channel.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < CAP) stderr += chunk.toString('utf8');
  });

  return new Promise((resolve) => {
    let exit: { code: number | null; signal?: string } | undefined;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      source.unpipe();
      source.destroy();
      try {
        options.spoil();
      } catch {
        // a chain that already failed cannot be spoiled further; ending it is enough
      }
      // If the remote command does not exit once its input ended, cut the channel.
      killTimer = setTimeout(() => channel.close(), options.exitTimeoutMs ?? 30000);
    };
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const onLocalError = (error: unknown) => {
      localError ??= error;
      stop();
      if (!channel.writableEnded) channel.end();
    };
    source.on('error', onLocalError);
    tail.on('error', onLocalError);
    channel.on('exit', (code: number | null, signalName?: string) => {
      exit = { code, signal: signalName ?? undefined };
    });
    channel.on('close', () => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // The remote side went away early (failed load, dropped link): stop reading locally.
      if (!source.destroyed && !source.readableEnded) source.destroy();
      resolve({ code: exit?.code ?? null, signal: exit?.signal, stdout, stderr, cancelled, localError, wireBytes });
    });
    channel.on('error', (error: Error) => {
      localError ??= new WharfError({ code: 'interrupted', object: 'SSH channel', cause: messageOf(error), inner: error });
    });
    tail.pipe(channel);
    // Added in the same tick as the pipe, so it sees every chunk the channel gets (no extra stage).
    tail.on('data', (chunk: Buffer) => {
      wireBytes += chunk.length;
      options.onWire?.();
    });
  });
}

/** Reports bytes done of a total with a rate, at most every 250 ms. */
export function throttledProgress(progress: ProgressSink | undefined, label: string, total: number | undefined, done: () => number, wire: () => number): { tick(): void; final(): void } {
  const started = Date.now();
  let last = 0;
  const send = () => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = `${formatBytes(wire() / seconds)}/s`;
    const amount = total ? `${formatBytes(done())} of ${formatBytes(total)}` : formatBytes(done());
    progress?.report({ message: `${label}: ${amount} (${rate})`, completed: done(), total });
  };
  return {
    tick() {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      send();
    },
    final: send,
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
