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
  | 'tls'
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
  const tls = tlsCause(error);
  if (tls) return new WharfError({ code: 'tls', object, cause: tls.cause, remedy: tls.remedy, inner: error });
  const cause = (code && causes[code]) || messageOf(error);
  return new WharfError({
    code: code === 'ENOSPC' ? 'disk-full' : 'unreachable',
    object,
    cause,
    remedy,
    inner: error,
  });
}

/**
 * TLS failures in the user's terms, from Node's codes (OpenSSL's verify results and alerts). The
 * way out names the files Docker and registries read their certificates from.
 */
function tlsCause(error: unknown): { cause: string; remedy: string } | undefined {
  const code = String((error as { code?: unknown } | undefined)?.code ?? '');
  const message = messageOf(error);
  const untrusted = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE'];
  if (untrusted.includes(code)) {
    return { cause: `the server's TLS certificate is not signed by a CA we trust (${code})`, remedy: 'Trust the CA that signed it (an engine: ca.pem in DOCKER_CERT_PATH or the context\'s TLS folder; a registry: NODE_EXTRA_CA_CERTS), or fix the server\'s certificate' };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { cause: `the server's TLS certificate does not name this host (${message})`, remedy: 'Connect by a name or address the certificate lists, or reissue it with that name' };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { cause: `the server's TLS certificate is out of its validity dates (${code})`, remedy: 'Renew the server\'s certificate, and check both clocks' };
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|alert (certificate required|bad certificate|unknown ca)/i.test(`${code} ${message}`)) {
    return { cause: `the server refused our client certificate (${code || message})`, remedy: 'Use the cert.pem and key.pem the server\'s CA issued for clients (DOCKER_CERT_PATH), with DOCKER_TLS_VERIFY=1' };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)) {
    return { cause: 'the server does not speak TLS on this port (plain HTTP?)', remedy: 'Unset DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for a plain tcp:// engine, or use the TLS port (2376 by convention)' };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return { cause: `TLS handshake failed (${code}: ${message})`, remedy: 'Check the certificates in DOCKER_CERT_PATH and the server\'s TLS settings' };
  return undefined;
}

