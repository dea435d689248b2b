/**
 * Registry failures as typed values: the spec's error JSON ({"errors":[{code,message,detail}]})
 * plus the HTTP status, mapped to a WharfError that names the object, the cause and the way out.
 * The body read is capped, so a misbehaving server cannot make us buffer a blob as an "error".
 */
import { WharfError, type WharfErrorCode } from '../core/errors';

const MAX_ERROR_BODY = 64 * 1024;

export interface RegistryErrorDetail {
  code: string;
  message?: string;
}

export class RegistryError extends WharfError {
  readonly status: number;
  readonly codes: RegistryErrorDetail[];
  /** Seconds the registry asked us to wait (429/503 Retry-After). */
  readonly retryAfter?: number;

  constructor(init: { code: WharfErrorCode; object: string; cause: string; remedy?: string; status: number; codes: RegistryErrorDetail[]; retryAfter?: number }) {
    super(init);
    this.name = 'RegistryError';
    this.status = init.status;
    this.codes = init.codes;
    this.retryAfter = init.retryAfter;
  }

  /** Worth retrying as is: rate limits and server-side hiccups, never a refusal. */
  get temporary(): boolean {
    return this.status === 429 || this.status === 408 || this.status >= 500;
  }

  has(code: string): boolean {
    return this.codes.some((detail) => detail.code === code);
  }
}

/** Reads at most `limit` bytes of a body, then drops the rest of the stream. */
export async function readCapped(body: ReadableStream<Uint8Array> | null, limit = MAX_ERROR_BODY): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function parseCodes(text: string): RegistryErrorDetail[] {
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    return (parsed.errors ?? [])
      .filter((entry) => typeof entry.code === 'string')
      .map((entry) => ({ code: entry.code as string, message: typeof entry.message === 'string' ? entry.message : undefined }));
  } catch {
    return [];
  }
}

export interface ErrorContext {
  /** The object the request was about: "127.0.0.1:5000/team/app:1". */
  object: string;
  /** The registry name, for "docker login <registry>" style remedies. */
  registry: string;
  /** What we were doing: "read manifest", "upload blob". */
  action: string;
}

/** Turns a non-2xx answer into a RegistryError. Consumes (a capped part of) the body. */
export async function registryError(response: Response, context: ErrorContext): Promise<RegistryError> {
  const text = await readCapped(response.body);
  const codes = parseCodes(text);
  const status = response.status;
  const said = codes.map((detail) => detail.message ?? detail.code).join('; ') || text.trim().slice(0, 200) || response.statusText;
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  const base = { object: context.object, status, codes, retryAfter };
  if (status === 401) {
    return new RegistryError({
      ...base,
      code: 'unauthorized',
      cause: `${context.action}: the registry wants credentials (401 ${said})`,
      remedy: `Sign in: docker login ${context.registry}, or set the registry's user and password/token in Wharf`,
    });
  }
  if (status === 403) {
    return new RegistryError({
      ...base,
      code: 'forbidden',
      cause: `${context.action}: denied (403 ${said})`,
      remedy: 'These credentials may not do this here (read-only registry or repository?): use an account with push/delete rights',
    });
  }
  if (status === 404) {
    return new RegistryError({
      ...base,
      code: 'not-found',
      cause: `${context.action}: not found (404 ${said})`,
      remedy: 'Check the registry, repository and tag: a wrong reference is the usual cause (list them with wharf registry tags REPO)',
    });
  }
  if (status === 405 || (status === 400 && codes.some((detail) => detail.code === 'UNSUPPORTED'))) {
    return new RegistryError({
      ...base,
      code: 'unsupported',
      cause: `${context.action}: the registry does not allow this (${status} ${said})`,
      remedy: /delete/i.test(context.action)
        ? 'Enable deletes on the registry (storage.delete.enabled in Distribution), or delete it in the registry\'s own UI'
        : 'The registry refuses writes: it may be read-only (storage.maintenance.readonly in Distribution) or a pull-through mirror; push to a writable registry',
    });
  }
  if (status === 429) {
    const wait = retryAfter !== undefined ? `${retryAfter} s` : 'a while';
    return new RegistryError({
      ...base,
      code: 'rate-limited',
      cause: `${context.action}: rate limited by ${context.registry} (429${retryAfter !== undefined ? `, retry after ${retryAfter} s` : ''})`,
      remedy: `Wait ${wait} and retry, or sign in to get a higher limit`,
    });
  }
  if (status >= 500) {
    return new RegistryError({
      ...base,
      code: 'unreachable',
      cause: `${context.action}: the registry failed (${status} ${said})`,
      remedy: 'Retry later; if it persists, check the registry\'s logs',
    });
  }
  return new RegistryError({ ...base, code: 'failed', cause: `${context.action}: ${status} ${said}`, remedy: 'Check the reference and the registry\'s logs' });
}
