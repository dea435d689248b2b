/**
 * The promotion hot path for plain-HTTP registries (a lab, a mirror on the LAN): a blob's bytes go
 * from the source socket straight into a monolithic PUT on the target socket, through a few reused
 * buffers. Node's http client allocated a buffer per read and chunk-framed every write; on a 2-core
 * machine that garbage and framing cost as much CPU as the target registry's own hashing, which is
 * what bounds a copy. Anything unusual (TLS, a redirect, a 401, an error, a chunked answer) is left
 * to the general path: `pipeBlob` answers 'fallback' before a byte reaches the target.
 */
import net from 'node:net';
import { WharfError } from '../core/errors';

export interface PlainRequest {
  url: URL;
  headers: Record<string, string>;
}

export interface PipeOptions {
  source: PlainRequest;
  /** The upload session's URL with ?digest= set: the PUT that both carries and commits the blob. */
  target: PlainRequest;
  size: number;
  object: string;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

const BUFFER_SIZE = 256 * 1024;
/** Buffers in flight per blob: bounds memory (2 MB) and is the back-pressure. */
const BUFFERS = 8;
const MAX_HEAD = 64 * 1024;

interface Head {
  status: number;
  headers: Headers;
  /** Bytes after the head that arrived with it. */
  rest: Buffer;
}

/** Copies one blob, or answers 'fallback' when the source's answer is not a plain 200 of `size` bytes. */
export async function pipeBlob(options: PipeOptions): Promise<Response | 'fallback'> {
  const { source, target, size, signal } = options;
  if (source.url.protocol !== 'http:' || target.url.protocol !== 'http:' || !(size > 0)) return 'fallback';
  const cancelled = () => new WharfError({ code: 'cancelled', object: options.object, cause: 'copy blob: cancelled by the user' });
  if (signal?.aborted) throw cancelled();
  const free: Buffer[] = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(BUFFER_SIZE));
  let waitingForBuffer = false;
  let onChunk: (chunk: Buffer, buffer: Buffer) => boolean = () => true;
  const down = net.connect({
    host: source.url.hostname,
    port: Number(source.url.port || 80),
    onread: {
      buffer: () => free.pop() ?? Buffer.allocUnsafe(BUFFER_SIZE),
      callback: (bytes, buffer) => onChunk((buffer as Buffer).subarray(0, bytes), buffer as Buffer),
    },
  });
  const release = (buffer: Buffer) => {
    free.push(buffer);
    if (waitingForBuffer) {
      waitingForBuffer = false;
      down.resume();
    }
  };
  const closeAll = (up?: net.Socket) => {
    down.destroy();
    up?.destroy();
  };

  // 1. The source's head: anything but a plain 200 of the expected length goes the general way.
  let onHeadAbort = () => undefined as void;
  const head = await new Promise<Head>((resolve, reject) => {
    onHeadAbort = () => reject(cancelled());
    signal?.addEventListener('abort', onHeadAbort, { once: true });
    let pending = Buffer.alloc(0);
    onChunk = (chunk, buffer) => {
      pending = Buffer.concat([pending, chunk]);
      release(buffer);
      const parsed = parseHead(pending);
      if (parsed) {
        down.pause();
        resolve(parsed);
      } else if (pending.length > MAX_HEAD) reject(new Error('the source answered with an oversized head'));
      return !parsed;
    };
    down.once('connect', () => down.write(requestHead('GET', source, {})));
    down.once('error', reject);
    down.once('end', () => reject(new Error('the source closed the connection before answering')));
  })
    .catch((error: unknown) => {
      closeAll();
      throw error;
    })
    .finally(() => signal?.removeEventListener('abort', onHeadAbort));
  down.removeAllListeners('error');
  down.removeAllListeners('end');
  const length = Number(head.headers.get('content-length') ?? NaN);
  if (head.status !== 200 || head.headers.has('transfer-encoding') || length !== size) {
    closeAll();
    return 'fallback';
  }

  // 2. The body, buffer by buffer, into the target's PUT; then the target's answer.
  const up = net.connect({ host: target.url.hostname, port: Number(target.url.port || 80) });
  up.setNoDelay(true);
  return new Promise<Response>((resolve, reject) => {
    let received = 0;
    let settled = false;
    const answer: Buffer[] = [];
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      closeAll(up);
      reject(signal?.aborted ? cancelled() : error);
    };
    const forward = (chunk: Buffer, done?: () => void) => {
      received += chunk.length;
      up.write(chunk, done);
      options.onBytes?.(chunk.length);
    };
    up.write(requestHead('PUT', target, { 'content-type': 'application/octet-stream', 'content-length': String(size) }));
    if (head.rest.length) forward(head.rest);
    onChunk = (chunk, buffer) => {
      forward(chunk, () => release(buffer));
      if (free.length === 0) {
        waitingForBuffer = true;
        return false;
      }
      return true;
    };
    down.on('end', () => {
      if (received !== size) fail(new Error(`the source closed after ${received} of ${size} bytes`));
    });
    down.on('error', fail);
    down.resume();
    up.on('data', (chunk: Buffer) => answer.push(chunk));
    up.on('error', (error) => {
      // A registry that answers early (a 4xx mid-body) then resets: its answer wins over the reset.
      if (!parseHead(Buffer.concat(answer))) fail(error);
    });
    up.on('close', () => {
      if (settled) return;
      const parsed = parseHead(Buffer.concat(answer));
      if (!parsed) return fail(new Error(`the target closed the upload after ${received} of ${size} bytes without answering`));
      settled = true;
      down.destroy();
      const hasBody = parsed.status !== 204 && parsed.status !== 304;
      resolve(new Response(hasBody ? parsed.rest : null, { status: parsed.status, headers: parsed.headers }));
    });
    const onAbort = () => fail(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    up.once('close', () => signal?.removeEventListener('abort', onAbort));
  });
}

function requestHead(method: string, request: PlainRequest, extra: Record<string, string>): string {
  const lines = [`${method} ${request.url.pathname}${request.url.search} HTTP/1.1`, `host: ${request.url.host}`, 'connection: close'];
  for (const [name, value] of Object.entries({ ...request.headers, ...extra })) {
    // Header values come from our own code and registry Location headers; refuse a smuggled CRLF.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new WharfError({ code: 'bad-input', object: request.url.toString(), cause: `header ${name} holds a line break`, remedy: 'Check the registry address and credentials' });
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function parseHead(bytes: Buffer): Head | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  if (!Number.isInteger(status)) return undefined;
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status, headers, rest: Buffer.from(bytes.subarray(end + 4)) };
}
