/**
 * Streams a request body with node:http(s) directly. Blob uploads are the hot path of a promotion:
 * piping a Node stream into the socket avoids fetch's web-stream conversions, which cost a large
 * share of the CPU on these 2-core machines. Answers come back as a fetch Response, so the error
 * mapping is shared with every other request.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

export function streamRequest(url: URL, method: string, headers: Record<string, string>, body: Readable, signal?: AbortSignal, onBytes?: (bytes: number) => void): Promise<Response> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // A source that already failed (e.g. aborted while we were getting a token) never flows.
    if (body.errored || body.destroyed) return reject(body.errored ?? new Error('the source stream was closed before the upload'));
    const request = transport.request(url, { method, headers: { ...headers, 'transfer-encoding': 'chunked' } });
    bindAbort(request, signal);
    request.on('response', (response) => {
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const status = response.statusCode ?? 500;
      const hasBody = status !== 204 && status !== 304;
      if (!hasBody) response.resume();
      resolve(new Response(hasBody ? (Readable.toWeb(response) as unknown as ReadableStream<Uint8Array>) : null, { status, headers: responseHeaders }));
    });
    request.on('error', reject);
    body.on('error', (error) => request.destroy(error));
    body.pipe(request);
    // Attached in the same tick as the pipe, so no chunk flows before both listen.
    if (onBytes) body.on('data', (chunk: Buffer) => onBytes(chunk.length));
  });
}

/**
 * Aborts a request on the signal, until it closes. (http.request's own `signal` option keeps
 * listening after the response ends; an abort then destroys the kept-alive socket, which has no
 * error listener, and crashes the process.)
 */
function bindAbort(request: http.ClientRequest, signal: AbortSignal | undefined): void {
  if (!signal) return;
  // Destroyed without an error object: with one, Node re-emits it on the socket, which may have no
  // listener left. Callers check `signal.aborted` to tell a cancel from a failure.
  const onAbort = () => {
    request.destroy();
  };
  if (signal.aborted) {
    onAbort();
    return;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  request.once('close', () => signal.removeEventListener('abort', onAbort));
}

/** A GET whose body stays a Node stream (blob downloads, the other hot path). */
export function getRequest(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { method: 'GET', headers });
    bindAbort(request, signal);
    request.on('response', resolve);
    request.on('error', reject);
    request.end();
  });
}

/** A consumed-or-not IncomingMessage as a fetch Response, for the shared error mapping. */
export function asResponse(message: http.IncomingMessage): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const status = message.statusCode ?? 500;
  const hasBody = status !== 204 && status !== 304;
  if (!hasBody) message.resume();
  return new Response(hasBody ? (Readable.toWeb(message) as unknown as ReadableStream<Uint8Array>) : null, { status, headers });
}
