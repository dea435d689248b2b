/**
 * Pulls an image and follows the progress stream to its end. dockerode's pull() resolves as soon
 * as the stream starts, and a stream can end "successfully" with `{"error": ...}` lines inside: every
 * line is scanned and the first error fails the pull.
 */
import type Docker from 'dockerode';
import { WharfError, fromNetworkError, throwIfCancelled } from '../core/errors';
import { silentProgress, type WorkOptions } from '../core/progress';
import { onJsonLines } from './jsonLines';

export interface PullLine {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
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
  const layers = new Map<string, { current: number; total: number }>();
  return new Promise<PullResult>((resolve, reject) => {
    let failure: WharfError | undefined;
    const result: PullResult = { reference };
    onJsonLines<PullLine>(
      stream,
      (line) => {
        if (line.error || line.errorDetail?.message) {
          failure ??= pullError(new Error(line.errorDetail?.message ?? line.error), object);
          return;
        }
        if (line.status) result.status = line.status;
        const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(line.status ?? '');
        if (digest) result.digest = digest[1];
        if (line.id && line.progressDetail?.total) {
          layers.set(line.id, { current: line.progressDetail.current ?? 0, total: line.progressDetail.total });
        }
        let completed = 0;
        let total = 0;
        for (const layer of layers.values()) {
          completed += layer.current;
          total += layer.total;
        }
        progress.report({ message: line.id ? `${line.id}: ${line.status ?? ''}` : line.status, completed: total ? completed : undefined, total: total || undefined });
      },
      (bad) => options.log?.warn(`pull ${reference}: skipped a line that is not JSON (${bad.slice(0, 80)})`),
    );
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      if (options.signal?.aborted) return reject(new WharfError({ code: 'cancelled', object, cause: 'cancelled by the user' }));
      if (failure) return reject(failure);
      if (error) return reject(pullError(error, object));
      resolve(result);
    };
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (error) => finish(error));
  });
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
