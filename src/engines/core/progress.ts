/**
 * Long work reports through this one small sink. The editor adapts it to `vscode.Progress`, the CLI
 * to stderr; engines never know which. Cancellation is a standard AbortSignal.
 */
export interface ProgressReport {
  /** A short phrase for what is happening now. */
  message?: string;
  /** Bytes or items done and expected, when known. */
  completed?: number;
  total?: number;
}

export interface ProgressSink {
  report(update: ProgressReport): void;
}

export const silentProgress: ProgressSink = { report: () => undefined };

export interface WorkOptions {
  signal?: AbortSignal;
  progress?: ProgressSink;
  log?: Logger;
}

/** Level-aware logging that never receives secrets (callers redact first). */
export interface Logger {
  trace(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = {
  trace: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
