/**
 * A client for the OCI distribution API (and Docker Registry v2) over Node's fetch. One instance
 * per registry; it holds the auth state (tokens per scope). Lists are async iterators that follow
 * `Link` headers page by page; blobs stream in and out; manifests keep their exact bytes.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { WharfError, fromNetworkError, isWharfError } from '../core/errors';
import { silentLogger, type Logger } from '../core/progress';
import { Authenticator, repositoryScope } from './auth';
import { pipeBlob } from './blobPipe';
import type { CredentialSource } from './credentials';
import { RegistryError, registryError } from './errors';
import { MANIFEST_ACCEPT, effectiveMediaType } from './manifest';
import { asResponse, getRequest, streamRequest } from './rawHttp';
import { registryAddress } from './reference';

const MAX_MANIFEST = 4 * 1024 * 1024;
const DEFAULT_PAGE = 100;
const MAX_RATE_LIMIT_WAIT_S = 60;

export interface RegistryClientOptions {
  /** "127.0.0.1:5000", "docker.io", "ghcr.io". */
  registry: string;
  credentials?: CredentialSource;
  log?: Logger;
  /** Told when a rate limit makes us wait, so the caller can say so. */
  onWait?: (seconds: number, reason: string) => void;
  /** How many times a 429 on a read is waited out before failing (default 2). */
  rateLimitRetries?: number;
  fetch?: typeof fetch;
}

export interface ManifestResult {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export type MountResult = { mounted: true } | { mounted: false; location: string };

interface Request {
  method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** A path under the base URL, or an absolute URL (Location headers, Link pages). */
  url: string;
  scopes: string[];
  headers?: Record<string, string>;
  body?: Buffer | ReadableStream<Uint8Array>;
  signal?: AbortSignal;
  /** Statuses that count as success; anything else becomes a RegistryError. */
  expect: number[];
  object: string;
  action: string;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly auth: Authenticator;
  private readonly log: Logger;

  constructor(private readonly options: RegistryClientOptions) {
    this.registry = options.registry;
    this.baseUrl = registryAddress(options.registry).baseUrl;
    this.log = options.log ?? silentLogger;
    this.auth = new Authenticator({ registry: options.registry, credentials: options.credentials, log: this.log, fetch: options.fetch });
  }

  private get fetch(): typeof fetch {
    return this.options.fetch ?? fetch;
  }

  private object(repository?: string, ref?: string): string {
    if (!repository) return `registry ${this.registry}`;
    const sep = ref?.includes(':') ? '@' : ':';
    return `${this.registry}/${repository}${ref ? `${sep}${ref}` : ''}`;
  }

  /** The one place requests go out: auth, one retry after a 401, waits on 429 for reads, typed errors. */
  private async send(request: Request): Promise<Response> {
    const url = new URL(request.url, this.baseUrl);
    const replayable = !(request.body instanceof ReadableStream);
    let authorization = await this.auth.authorize(request.scopes, request.signal);
    let rateLimitWaits = 0;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': 'wharf', ...request.headers };
      if (authorization) headers.authorization = authorization;
      let response: Response;
      try {
        response = await this.fetch(url, {
          method: request.method,
          headers,
          body: request.body,
          signal: request.signal,
          // Needed by fetch for streamed request bodies.
          ...(replayable ? {} : { duplex: 'half' }),
        } as RequestInit);
      } catch (error) {
        if (request.signal?.aborted) throw new WharfError({ code: 'cancelled', object: request.object, cause: `${request.action}: cancelled by the user` });
        throw fromNetworkError((error as { cause?: unknown }).cause ?? error, request.object, `${request.action}: check that ${this.registry} answers (${this.baseUrl})`);
      }
      if (response.status === 401 && replayable && attempt === 0) {
        const retryWith = await this.auth.onUnauthorized(response, request.scopes, authorization, request.signal);
        if (retryWith) {
          await response.body?.cancel().catch(() => undefined);
          authorization = retryWith;
          continue;
        }
      }
      if (response.status === 429 && replayable && (request.method === 'GET' || request.method === 'HEAD') && rateLimitWaits < (this.options.rateLimitRetries ?? 2)) {
        const error = await registryError(response, { object: request.object, registry: this.registry, action: request.action });
        const wait = Math.min(error.retryAfter ?? 2 ** rateLimitWaits, MAX_RATE_LIMIT_WAIT_S);
        if ((error.retryAfter ?? 0) > MAX_RATE_LIMIT_WAIT_S) throw error;
        rateLimitWaits++;
        this.options.onWait?.(wait, `rate limited by ${this.registry}`);
        this.log.warn(`${request.object}: rate limited by ${this.registry}; waiting ${wait} s`);
        await sleep(wait * 1000, request.signal, request.object);
        continue;
      }
      if (!request.expect.includes(response.status)) {
        if (request.method === 'HEAD') await response.body?.cancel().catch(() => undefined);
        throw await registryError(response, { object: request.object, registry: this.registry, action: request.action });
      }
      return response;
    }
  }

  /** GET /v2/: proves the registry speaks the API, and learns how it wants us to authenticate. */
  async ping(signal?: AbortSignal): Promise<void> {
    const response = await this.send({ method: 'GET', url: '/v2/', scopes: [], signal, expect: [200], object: this.object(), action: 'ping' });
    await response.body?.cancel();
  }

  /** Repository names, one page per iteration, following `Link: <...>; rel="next"`. */
  catalog(options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncIterable<string[]> {
    const first = `/v2/_catalog?n=${options.pageSize ?? DEFAULT_PAGE}`;
    return this.pages(first, ['registry:catalog:*'], 'repositories', this.object(), 'list repositories', options.signal);
  }

  /** Tags of a repository, one page per iteration. */
  tags(repository: string, options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncIterable<string[]> {
    const first = `/v2/${repository}/tags/list?n=${options.pageSize ?? DEFAULT_PAGE}`;
    return this.pages(first, [repositoryScope(repository, ['pull'])], 'tags', this.object(repository), 'list tags', options.signal);
  }

  private async *pages(first: string, scopes: string[], field: 'repositories' | 'tags', object: string, action: string, signal?: AbortSignal): AsyncIterable<string[]> {
    const seen = new Set<string>();
    let next: string | undefined = new URL(first, this.baseUrl).toString();
    while (next) {
      // A Link that points back at a page we read would loop forever: stop there.
      if (seen.has(next)) {
        this.log.warn(`${object}: the registry's Link header points back at ${next}; stopping`);
        return;
      }
      seen.add(next);
      const response = await this.send({ method: 'GET', url: next, scopes, signal, expect: [200], object, action });
      const body = (await response.json()) as Record<string, string[] | null | undefined>;
      yield body[field] ?? [];
      const link = parseNextLink(response.headers.get('link'));
      next = link ? new URL(link, next).toString() : undefined;
    }
  }

  /** Every item of a paged list (for callers that need all of them, e.g. a filter). */
  static async collect(pages: AsyncIterable<string[]>, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
    const all: string[] = [];
    for await (const page of pages) {
      all.push(...page);
      if (all.length >= limit) break;
    }
    return all;
  }

  /** The manifest's exact bytes; the digest is checked against the registry's header and the ref. */
  async getManifest(repository: string, ref: string, signal?: AbortSignal): Promise<ManifestResult> {
    const object = this.object(repository, ref);
    const response = await this.send({ method: 'GET', url: `/v2/${repository}/manifests/${ref}`, scopes: [repositoryScope(repository, ['pull'])], headers: { accept: MANIFEST_ACCEPT }, signal, expect: [200], object, action: 'read manifest' });
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_MANIFEST) {
      await response.body?.cancel();
      throw new WharfError({ code: 'failed', object, cause: `manifest of ${declared} bytes is over the ${MAX_MANIFEST}-byte limit`, remedy: 'This is not an image manifest Wharf can copy' });
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256(bytes);
    const header = response.headers.get('docker-content-digest');
    if (header && header.startsWith('sha256:') && header !== digest) {
      throw new WharfError({ code: 'failed', object, cause: `the registry says the manifest is ${header} but its bytes hash to ${digest}`, remedy: 'Retry; if it persists, a proxy is changing the manifest' });
    }
    if (ref.startsWith('sha256:') && ref !== digest) {
      throw new WharfError({ code: 'failed', object, cause: `asked for ${ref}, got bytes that hash to ${digest}`, remedy: 'Retry; if it persists, the registry is serving the wrong content' });
    }
    return { bytes, mediaType: effectiveMediaType(response.headers.get('content-type'), bytes), digest };
  }

  /** HEAD a manifest: its digest without downloading it (and free of Docker Hub's pull limits). */
  async headManifest(repository: string, ref: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    try {
      const response = await this.send({ method: 'HEAD', url: `/v2/${repository}/manifests/${ref}`, scopes: [repositoryScope(repository, ['pull'])], headers: { accept: MANIFEST_ACCEPT }, signal, expect: [200], object: this.object(repository, ref), action: 'check manifest' });
      const digest = response.headers.get('docker-content-digest');
      if (!digest) {
        // Some registries leave the digest out of HEAD answers: read the manifest instead.
        const manifest = await this.getManifest(repository, ref, signal);
        return { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.length };
      }
      return { digest, mediaType: (response.headers.get('content-type') ?? '').split(';')[0], size: Number(response.headers.get('content-length') ?? 0) };
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** PUT the exact bytes, so the digest at the destination is the source's. Returns that digest. */
  async putManifest(repository: string, ref: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    const object = this.object(repository, ref);
    const response = await this.send({ method: 'PUT', url: `/v2/${repository}/manifests/${ref}`, scopes: [repositoryScope(repository, ['pull', 'push'])], headers: { 'content-type': mediaType }, body: bytes, signal, expect: [201, 200], object, action: 'push manifest' });
    await response.body?.cancel();
    const digest = sha256(bytes);
    const header = response.headers.get('docker-content-digest');
    if (header && header !== digest) {
      throw new WharfError({ code: 'failed', object, cause: `pushed a manifest hashing to ${digest} but the registry stored ${header}`, remedy: 'The registry rewrote the manifest; the digest is not preserved there' });
    }
    return digest;
  }

  /** Deletes a manifest by digest (every tag pointing at it goes with it). */
  async deleteManifest(repository: string, digest: string, signal?: AbortSignal): Promise<void> {
    const response = await this.send({ method: 'DELETE', url: `/v2/${repository}/manifests/${digest}`, scopes: [repositoryScope(repository, ['delete'])], signal, expect: [202, 200], object: this.object(repository, digest), action: 'delete manifest' });
    await response.body?.cancel();
  }

  /**
   * Deletes a tag. Registries that implement tag deletion (OCI 1.1) remove only the tag; others
   * (Distribution 2.x) only delete by digest, which removes every tag sharing that manifest.
   * Returns the digest that was deleted, or undefined when only the tag went.
   */
  async deleteTag(repository: string, tag: string, signal?: AbortSignal): Promise<{ digest: string; onlyTag: boolean }> {
    const head = await this.headManifest(repository, tag, signal);
    if (!head) {
      throw new WharfError({ code: 'not-found', object: this.object(repository, tag), cause: 'no such tag', remedy: 'Refresh the tree: someone may have deleted it already' });
    }
    try {
      const response = await this.send({ method: 'DELETE', url: `/v2/${repository}/manifests/${tag}`, scopes: [repositoryScope(repository, ['delete'])], signal, expect: [202, 200], object: this.object(repository, tag), action: 'delete tag' });
      await response.body?.cancel();
      return { digest: head.digest, onlyTag: true };
    } catch (error) {
      // Distribution 2.x answers 400/405 to a tag; fall back to the digest.
      if (!(error instanceof RegistryError) || ![400, 404, 405].includes(error.status)) throw error;
    }
    await this.deleteManifest(repository, head.digest, signal);
    return { digest: head.digest, onlyTag: false };
  }

  /** The blob's size if the repository has it, else undefined. */
  async headBlob(repository: string, digest: string, signal?: AbortSignal): Promise<number | undefined> {
    try {
      const response = await this.send({ method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, scopes: [repositoryScope(repository, ['pull'])], signal, expect: [200], object: this.object(repository, digest), action: 'check blob' });
      return Number(response.headers.get('content-length') ?? 0);
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * A blob as a Node stream, over node:http (fetch's web streams cost 3× the CPU here). Follows
   * redirects to storage backends, dropping our Authorization on another origin.
   */
  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<{ stream: Readable; size: number }> {
    const object = this.object(repository, digest);
    const scopes = [repositoryScope(repository, ['pull'])];
    let url = new URL(`/v2/${repository}/blobs/${digest}`, this.baseUrl);
    let authorization = await this.auth.authorize(scopes, signal);
    let retried = false;
    for (let hops = 0; hops < 6; hops++) {
      const headers: Record<string, string> = { 'user-agent': 'wharf' };
      if (authorization && url.origin === new URL(this.baseUrl).origin) headers.authorization = authorization;
      let message: import('node:http').IncomingMessage;
      try {
        message = await getRequest(url, headers, signal);
      } catch (error) {
        if (signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'read blob: cancelled by the user' });
        throw fromNetworkError(error, object, `read blob: check that ${this.registry} answers (${this.baseUrl})`);
      }
      const status = message.statusCode ?? 500;
      if (status === 200) {
        // Until a consumer pipes it (after an await or two), an abort must not become an
        // unhandled 'error' event; consumers see the failure through `errored` (streamRequest).
        message.on('error', () => undefined);
        return { stream: message, size: Number(message.headers['content-length'] ?? 0) };
      }
      if (status >= 300 && status < 400 && message.headers.location) {
        message.resume();
        url = new URL(message.headers.location, url);
        continue;
      }
      const response = asResponse(message);
      if (status === 401 && !retried) {
        retried = true;
        const retryWith = await this.auth.onUnauthorized(response, scopes, authorization, signal);
        await response.body?.cancel().catch(() => undefined);
        if (retryWith) {
          authorization = retryWith;
          hops--;
          continue;
        }
      }
      throw await registryError(response, { object, registry: this.registry, action: 'read blob' });
    }
    throw new WharfError({ code: 'failed', object, cause: 'read blob: too many redirects', remedy: 'Check the registry\'s storage redirect settings' });
  }

  /**
   * Copies a blob from `source` into this registry's open upload session over plain HTTP, socket
   * to socket (blobPipe.ts). Answers false, with nothing sent, when that way does not apply (TLS,
   * a redirect, an auth challenge): the caller then streams it through `getBlob`/`uploadBlob`.
   */
  async pipeBlobFrom(source: RegistryClient, sourceRepository: string, repository: string, blob: { digest: string; size: number }, location: string, options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {}): Promise<boolean> {
    const object = this.object(repository, blob.digest);
    const sourceUrl = new URL(`/v2/${sourceRepository}/blobs/${blob.digest}`, source.baseUrl);
    const targetUrl = new URL(location, this.baseUrl);
    targetUrl.searchParams.set('digest', blob.digest);
    const headers = async (client: RegistryClient, scopes: string[]) => {
      const authorization = await client.auth.authorize(scopes, options.signal);
      return { 'user-agent': 'wharf', ...(authorization ? { authorization } : {}) };
    };
    let response: Response | 'fallback';
    try {
      response = await pipeBlob({
        source: { url: sourceUrl, headers: await headers(source, [repositoryScope(sourceRepository, ['pull'])]) },
        target: { url: targetUrl, headers: await headers(this, [repositoryScope(repository, ['pull', 'push'])]) },
        size: blob.size,
        object,
        signal: options.signal,
        onBytes: options.onBytes,
      });
    } catch (error) {
      if (isWharfError(error)) throw error;
      throw fromNetworkError(error, object, `copy blob: check that ${source.registry} and ${this.registry} answer`);
    }
    if (response === 'fallback') return false;
    if (response.status !== 201 && response.status !== 204) throw await registryError(response, { object, registry: this.registry, action: 'upload blob' });
    this.checkStored(response, blob.digest, blob.size, object);
    return true;
  }

  /** The registry names the digest it stored; anything but ours means the bytes changed on the way. */
  private checkStored(response: Response, digest: string, sent: number, object: string): void {
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== digest) {
      throw new WharfError({ code: 'failed', object, cause: `uploaded ${sent} bytes but the registry stored ${stored}`, remedy: 'Retry the copy; the bytes changed on the way' });
    }
  }

  /** POST /blobs/uploads/: opens an upload session; returns its Location. */
  async startUpload(repository: string, signal?: AbortSignal): Promise<string> {
    const response = await this.send({ method: 'POST', url: `/v2/${repository}/blobs/uploads/`, scopes: [repositoryScope(repository, ['pull', 'push'])], signal, expect: [202], object: this.object(repository), action: 'start blob upload' });
    await response.body?.cancel();
    return this.location(response, repository);
  }

  /**
   * Cross-repository mount: 201 means the registry linked the blob without a byte moving; 202
   * means it did not (other repo unreadable, or mounting unsupported) and opened a normal upload.
   */
  async mountBlob(repository: string, digest: string, from: string, signal?: AbortSignal): Promise<MountResult> {
    const query = new URLSearchParams({ mount: digest, from });
    const response = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/?${query.toString()}`,
      scopes: [repositoryScope(repository, ['pull', 'push']), repositoryScope(from, ['pull'])],
      signal,
      expect: [201, 202],
      object: this.object(repository, digest),
      action: 'mount blob',
    });
    await response.body?.cancel();
    return response.status === 201 ? { mounted: true } : { mounted: false, location: this.location(response, repository) };
  }

  /**
   * Streams a blob: PATCH the bytes to the session, then PUT ?digest= to commit. `onBytes` sees
   * every chunk as it leaves. Uses `location` when a session is already open (after a mount fallback).
   */
  async uploadBlob(repository: string, digest: string, source: Readable, options: { location?: string; signal?: AbortSignal; onBytes?: (bytes: number) => void } = {}): Promise<void> {
    const object = this.object(repository, digest);
    const location = options.location ?? (await this.startUpload(repository, options.signal));
    let sent = 0;
    const patched = await this.streamPatch(location, repository, source, object, options.signal, (bytes) => {
      sent += bytes;
      options.onBytes?.(bytes);
    });
    await patched.body?.cancel();
    const commit = new URL(this.location(patched, repository, location));
    commit.searchParams.set('digest', digest);
    const put = await this.send({ method: 'PUT', url: commit.toString(), scopes: [repositoryScope(repository, ['pull', 'push'])], headers: { 'content-length': '0' }, signal: options.signal, expect: [201, 204], object, action: 'commit blob' });
    await put.body?.cancel();
    this.checkStored(put, digest, sent, object);
  }

  /** PATCH with a streamed body over node:http (see rawHttp.ts); auth is settled by the POST before it. */
  private async streamPatch(location: string, repository: string, source: Readable, object: string, signal: AbortSignal | undefined, onBytes: (bytes: number) => void): Promise<Response> {
    const scopes = [repositoryScope(repository, ['pull', 'push'])];
    const headers: Record<string, string> = { 'user-agent': 'wharf', 'content-type': 'application/octet-stream' };
    const authorization = await this.auth.authorize(scopes, signal);
    if (authorization) headers.authorization = authorization;
    let response: Response;
    try {
      response = await streamRequest(new URL(location, this.baseUrl), 'PATCH', headers, source, signal, onBytes);
    } catch (error) {
      if (signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'upload blob: cancelled by the user' });
      throw fromNetworkError(error, object, `upload blob: check that ${this.registry} answers (${this.baseUrl})`);
    }
    if (response.status !== 202 && response.status !== 204) throw await registryError(response, { object, registry: this.registry, action: 'upload blob' });
    return response;
  }

  /** Abandons an upload session (best effort: a half-written upload must not linger). */
  async cancelUpload(repository: string, location: string): Promise<void> {
    try {
      const response = await this.send({ method: 'DELETE', url: location, scopes: [repositoryScope(repository, ['pull', 'push'])], expect: [204, 200, 202, 404], object: this.object(repository), action: 'cancel upload' });
      await response.body?.cancel();
    } catch (error) {
      this.log.trace(`${this.object(repository)}: could not cancel upload: ${(error as Error).message}`);
    }
  }

  private location(response: Response, repository: string, fallback?: string): string {
    const location = response.headers.get('location') ?? fallback;
    if (!location) throw new WharfError({ code: 'failed', object: this.object(repository), cause: 'the registry opened an upload without a Location', remedy: 'This registry does not follow the distribution spec' });
    return new URL(location, this.baseUrl).toString();
  }
}

/** `<url>; rel="next"` from a Link header (the spec's pagination). */
export function parseNextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (match && /rel\s*=\s*"?next"?/i.test(match[2])) return match[1];
  }
  return undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined, object: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new WharfError({ code: 'cancelled', object, cause: 'cancelled by the user' }));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new WharfError({ code: 'cancelled', object, cause: 'cancelled by the user' }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

