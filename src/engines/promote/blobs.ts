/**
 * Moves one blob from a source repository to a target repository, the cheapest way that works:
 * already there (HEAD) → skip; same registry → cross-repository mount; else stream it through.
 * An interrupted upload is abandoned (its session deleted) and restarted from a fresh session.
 */
import { WharfError, isWharfError, throwIfCancelled } from '../core/errors';
import type { Logger } from '../core/progress';
import type { RegistryClient } from '../registry/client';
import { RegistryError } from '../registry/errors';

export type BlobOutcome = 'copied' | 'skipped' | 'mounted';

export interface BlobTask {
  digest: string;
  size: number;
}

export interface BlobContext {
  source: RegistryClient;
  sourceRepository: string;
  target: RegistryClient;
  targetRepository: string;
  signal?: AbortSignal;
  log: Logger;
  /** Bytes as they leave, for progress. `restart` winds the blob's count back to zero. */
  onBytes(digest: string, bytes: number): void;
  onRestart(digest: string, sentSoFar: number): void;
  /** Attempts per blob, counting the first (default 3). */
  attempts?: number;
  /** Set to false to never try a mount (for measurements). */
  mount?: boolean;
  /** Set to false to always stream through `getBlob`/`uploadBlob`, never socket to socket. */
  pipe?: boolean;
}

/** Failures worth another attempt: connection trouble and the registry's own temporary errors. */
function retryable(error: unknown): boolean {
  if (isWharfError(error, 'cancelled')) return false;
  if (error instanceof RegistryError) return error.temporary;
  if (isWharfError(error, 'unreachable')) return true;
  // Stream errors from fetch/undici (socket closed mid-body) arrive untyped.
  return !isWharfError(error);
}

export async function transferBlob(blob: BlobTask, context: BlobContext): Promise<BlobOutcome> {
  const { source, target, signal } = context;
  throwIfCancelled(signal, blob.digest);
  if ((await target.headBlob(context.targetRepository, blob.digest, signal)) !== undefined) return 'skipped';

  let location: string | undefined;
  const sameRegistry = source.registry === target.registry && source.baseUrl === target.baseUrl;
  if (sameRegistry && context.mount !== false && context.sourceRepository !== context.targetRepository) {
    const mount = await target.mountBlob(context.targetRepository, blob.digest, context.sourceRepository, signal);
    if (mount.mounted) return 'mounted';
    // 202: the registry opened a plain upload instead; use that session.
    location = mount.location;
  }

  const attempts = context.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    throwIfCancelled(signal, blob.digest);
    let sent = 0;
    const session = location ?? (await target.startUpload(context.targetRepository, signal));
    location = undefined;
    try {
      const onBytes = (bytes: number) => {
        sent += bytes;
        context.onBytes(blob.digest, bytes);
      };
      if (context.pipe !== false && (await target.pipeBlobFrom(source, context.sourceRepository, context.targetRepository, blob, session, { signal, onBytes }))) return 'copied';
      const { stream } = await source.getBlob(context.sourceRepository, blob.digest, signal);
      await target.uploadBlob(context.targetRepository, blob.digest, stream, {
        location: session,
        signal,
        onBytes,
      });
      return 'copied';
    } catch (error) {
      // Never leave a half-written session behind, whatever happens next.
      await target.cancelUpload(context.targetRepository, session);
      if (signal?.aborted) throw new WharfError({ code: 'cancelled', object: blob.digest, cause: 'cancelled by the user' });
      context.onRestart(blob.digest, sent);
      if (attempt >= attempts || !retryable(error)) throw error;
      context.log.warn(`${context.targetRepository}@${blob.digest}: upload interrupted after ${sent} bytes (${(error as Error).message}); restarting (attempt ${attempt + 1} of ${attempts})`);
    }
  }
}

/** Runs tasks with at most `limit` at once; the first failure stops new tasks and is rethrown. */
export async function runPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length && !signal?.aborted) {
      const index = next++;
      try {
        results[index] = await work(items[index]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  throwIfCancelled(signal, 'copy');
  return results;
}
