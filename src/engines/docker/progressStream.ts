/**
 * Following an engine's pull or push stream to its end. dockerode resolves before the work is done,
 * and a stream can end "successfully" with {"error": ...} lines inside: every line is scanned, the
 * first error line fails the whole operation, and per-layer bytes are summed into one progress.
 */
import { WharfError } from '../core/errors';
import type { ProgressSink } from '../core/progress';
import { onJsonLines } from './jsonLines';

export interface ProgressLine {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

export interface FollowOptions<L extends ProgressLine> {
  /** What the operation is about, for the cancelled error. */
  object: string;
  signal?: AbortSignal;
  progress: ProgressSink;
  /** The progress message for a line. */
  describe(line: L): string | undefined;
  /** Sees every line that is not an error (to pick out a digest, a status). */
  onLine?(line: L): void;
  /** Turns an error line or a stream error into the operation's typed error. */
  toError(error: unknown): WharfError;
  onBadLine?(line: string): void;
}

export function followProgress<L extends ProgressLine>(stream: NodeJS.ReadableStream, options: FollowOptions<L>): Promise<void> {
  const layers = new Map<string, { current: number; total: number }>();
  return new Promise<void>((resolve, reject) => {
    let failure: WharfError | undefined;
    onJsonLines<L>(
      stream,
      (line) => {
        if (line.error || line.errorDetail?.message) {
          failure ??= options.toError(new Error(line.errorDetail?.message ?? line.error));
          return;
        }
        options.onLine?.(line);
        if (line.id && line.progressDetail?.total) layers.set(line.id, { current: line.progressDetail.current ?? 0, total: line.progressDetail.total });
        let completed = 0;
        let total = 0;
        for (const layer of layers.values()) {
          completed += layer.current;
          total += layer.total;
        }
        options.progress.report({ message: options.describe(line), completed: total ? completed : undefined, total: total || undefined });
      },
      options.onBadLine,
    );
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      if (options.signal?.aborted) return reject(new WharfError({ code: 'cancelled', object: options.object, cause: 'cancelled by the user' }));
      if (failure) return reject(failure);
      if (error) return reject(options.toError(error));
      resolve();
    };
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (error) => finish(error));
  });
}
