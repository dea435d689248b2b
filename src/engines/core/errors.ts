/**
 * One error type for every engine. A failure always names the object it concerns, the cause, and
 * the way out, so the editor and the CLI can show the same one-line message.
 */
export type WharfErrorCode =
  | 'bad-input'
  | 'not-found'
  | 'unauthorized'
  | 'forbidden'
  | 'unreachable'
  | 'host-key'
  | 'conflict'
  | 'quorum-lost'
  | 'disk-full'
  | 'cancelled'
  | 'interrupted'
  | 'unsupported'
  | 'rate-limited'
  | 'failed';

export interface WharfErrorInit {
  code: WharfErrorCode;
  /** What the failure is about: an image ref, a key, a host, a registry. */
  object: string;
  /** Why it failed, in the user's terms. */
  cause: string;
  /** What the user can do about it. */
  remedy?: string;
  /** The underlying error, kept for the log. */
  inner?: unknown;
}

export class WharfError extends Error {
  readonly code: WharfErrorCode;
  readonly object: string;
  readonly reason: string;
  readonly remedy?: string;
  readonly inner?: unknown;

  constructor(init: WharfErrorInit) {
    super(formatMessage(init));
    this.name = 'WharfError';
    this.code = init.code;
    this.object = init.object;
    this.reason = init.cause;
    this.remedy = init.remedy;
    this.inner = init.inner;
  }
}

function formatMessage(init: WharfErrorInit): string {
  const head = `${init.object}: ${init.cause}`;
  return init.remedy ? `${head}. ${init.remedy}` : head;
}

export function isWharfError(value: unknown, code?: WharfErrorCode): value is WharfError {
  return value instanceof WharfError && (code === undefined || value.code === code);
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Throws a `cancelled` error when the signal has fired; call between steps of long work. */
export function throwIfCancelled(signal: AbortSignal | undefined, object: string): void {
  if (signal?.aborted) {
    throw new WharfError({ code: 'cancelled', object, cause: 'cancelled by the user' });
  }
}

/** Maps Node's network errors to a typed error that says how to get through. */
export function fromNetworkError(error: unknown, object: string, remedy: string): WharfError {
  if (error instanceof WharfError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const causes: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOENT: 'no such socket',
    EACCES: 'permission denied',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'host unreachable',
    ENOTFOUND: 'host name not found',
    ECONNRESET: 'connection reset',
    ENOSPC: 'disk full',
  };
  const cause = (code && causes[code]) || messageOf(error);
  return new WharfError({
    code: code === 'ENOSPC' ? 'disk-full' : 'unreachable',
    object,
    cause,
    remedy,
    inner: error,
  });
}
