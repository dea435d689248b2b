/**
 * Pulls an image and follows the progress stream to its end. dockerode's pull() resolves as soon
 * as the stream starts, and a stream can end "successfully" with `{"error": ...}` lines inside: every
 * line is scanned and the first error fails the pull.
 */
import type Docker from 'dockerode';
import { WharfError, fromNetworkError, throwIfCancelled } from '../core/errors';
import { silentProgress, type WorkOptions } from '../core/progress';
import { followProgress, type ProgressLine } from './progressStream';

export interface PullLine extends ProgressLine {
  progress?: string;
}

export interface PullResult {
  reference: string;
  /** The last status line, e.g. "Status: Downloaded newer image for ..." */
  status?: string;
  digest?: string;
}

export async function pullImage(docker: Docker, reference: string, options: WorkOptions & { authconfig?: Docker.AuthConfig } = {}): Promise<PullResult> {
  const object = `image ${reference}`;
  const progress = options.progress ?? silentProgress;
  throwIfCancelled(options.signal, object);
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(reference, { authconfig: options.authconfig, abortSignal: options.signal } as object)) as NodeJS.ReadableStream;
  } catch (error) {
    throw pullError(error, object);
  }
  const result: PullResult = { reference };
  await followProgress<PullLine>(stream, {
    object,
    signal: options.signal,
    progress,
    describe: (line) => (line.id ? `${line.id}: ${line.status ?? ''}` : line.status),
    onLine: (line) => {
      if (line.status) result.status = line.status;
      const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(line.status ?? '');
      if (digest) result.digest = digest[1];
    },
    toError: (error) => pullError(error, object),
    onBadLine: (bad) => options.log?.warn(`pull ${reference}: skipped a line that is not JSON (${bad.slice(0, 80)})`),
  });
  return result;
}

function pullError(error: unknown, object: string): WharfError {
  const status = (error as { statusCode?: number }).statusCode;
  const message = error instanceof Error ? error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim() : String(error);
  if (status === 404 || /not found|manifest unknown|does not exist/i.test(message)) {
    return new WharfError({ code: 'not-found', object, cause: message, remedy: 'Check the repository name and tag', inner: error });
  }
  if (/unauthorized|authentication required|denied/i.test(message)) {
    return new WharfError({ code: 'unauthorized', object, cause: message, remedy: 'Log in to the registry (docker login) or add credentials', inner: error });
  }
  if (status && status >= 400) return new WharfError({ code: 'failed', object, cause: message, inner: error });
  return fromNetworkError(error, object, 'Check that the engine and the registry answer');
}
