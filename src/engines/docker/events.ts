/**
 * A reconnecting `GET /events` stream that says which kind of object changed. Events arrive in
 * bursts (a compose up emits dozens), so changes are collected for a short debounce and reported
 * once. When the stream drops it reconnects with exponential backoff and reports both kinds as
 * changed, since events may have been missed meanwhile.
 */
import type Docker from 'dockerode';
import { messageOf } from '../core/errors';
import { silentLogger, type Logger } from '../core/progress';
import { onJsonLines } from './jsonLines';

export type ChangeKind = 'image' | 'container';

export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
}

export interface EventWatchOptions {
  /** Called once per burst with the kinds that changed. */
  onChange: (kinds: Set<ChangeKind>, events: EngineEvent[]) => void;
  /** Called when the stream connects (true) or drops (false). */
  onConnection?: (connected: boolean, error?: unknown) => void;
  debounceMs?: number;
  /** First retry delay; it doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  log?: Logger;
}

/** Container actions that change nothing a listing shows. */
const QUIET_ACTIONS = /^(exec_create|exec_start|exec_die|exec_detach|top|attach|detach|resize|copy|archive-path|extract-to-dir|export|commit)\b/;

export function changeKindOf(event: EngineEvent): ChangeKind | undefined {
  if (event.Type === 'image') return 'image';
  if (event.Type === 'container') return QUIET_ACTIONS.test(event.Action ?? '') ? undefined : 'container';
  return undefined;
}

export interface EventWatch {
  /** Stops the stream and every timer. */
  dispose(): void;
  readonly connected: boolean;
  /** How many times the stream was opened (1 + reconnects). */
  readonly connects: number;
}

/** `connect` returns the client to use: after an SSH drop the same client simply re-dials. */
export function watchEvents(connect: () => Promise<Docker>, options: EventWatchOptions): EventWatch {
  const log = options.log ?? silentLogger;
  const debounceMs = options.debounceMs ?? 500;
  const firstBackoff = options.backoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  let disposed = false;
  let connected = false;
  let connects = 0;
  let backoff = firstBackoff;
  let controller: AbortController | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let pendingKinds = new Set<ChangeKind>();
  let pendingEvents: EngineEvent[] = [];

  const flush = () => {
    debounceTimer = undefined;
    const kinds = pendingKinds;
    const events = pendingEvents;
    pendingKinds = new Set();
    pendingEvents = [];
    if (kinds.size && !disposed) options.onChange(kinds, events);
  };
  const note = (kinds: ChangeKind[], event?: EngineEvent) => {
    for (const kind of kinds) pendingKinds.add(kind);
    if (event && pendingEvents.length < 1000) pendingEvents.push(event);
    debounceTimer ??= setTimeout(flush, debounceMs);
  };

  const open = async () => {
    if (disposed) return;
    controller = new AbortController();
    const signal = controller.signal;
    let stream: NodeJS.ReadableStream;
    try {
      const docker = await connect();
      stream = (await docker.getEvents({ filters: { type: ['image', 'container'] }, abortSignal: signal } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
    } catch (error) {
      return retry(error);
    }
    if (disposed) {
      controller.abort();
      return;
    }
    connects++;
    const reconnected = connects > 1;
    connected = true;
    backoff = firstBackoff;
    options.onConnection?.(true);
    if (reconnected) note(['image', 'container']); // anything may have happened while we were away
    onJsonLines<EngineEvent>(
      stream,
      (event) => {
        const kind = changeKindOf(event);
        if (kind) note([kind], event);
      },
      (line) => log.warn(`engine events: skipped a line that is not JSON (${line.slice(0, 80)})`),
    );
    let ended = false;
    const onEnd = (error?: unknown) => {
      if (ended) return;
      ended = true;
      connected = false;
      options.onConnection?.(false, error);
      retry(error ?? new Error('the engine closed the event stream'));
    };
    stream.on('end', () => onEnd());
    stream.on('close', () => onEnd());
    stream.on('error', (error) => onEnd(error));
  };

  const retry = (error: unknown) => {
    if (disposed) return;
    log.info(`engine events: ${messageOf(error)}; reconnecting in ${backoff} ms`);
    retryTimer = setTimeout(() => void open(), backoff);
    backoff = Math.min(maxBackoff, backoff * 2);
  };

  void open();
  return {
    get connected() {
      return connected;
    },
    get connects() {
      return connects;
    },
    dispose() {
      disposed = true;
      controller?.abort();
      clearTimeout(retryTimer);
      clearTimeout(debounceTimer);
    },
  };
}
