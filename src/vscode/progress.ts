/** Bridges VS Code's progress and cancellation to the engines' ProgressSink and AbortSignal. */
import * as vscode from 'vscode';
import type { ProgressSink } from '../engines/core/progress';

export interface EditorWork {
  signal: AbortSignal;
  progress: ProgressSink;
}

/** Runs long work in a cancellable notification; the engine sees an AbortSignal. */
export function withEditorProgress<T>(title: string, work: (context: EditorWork) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const subscription = token.onCancellationRequested(() => controller.abort());
      let lastFraction = 0;
      const sink: ProgressSink = {
        report(update) {
          // vscode.Progress takes increments, the engines report totals.
          let increment: number | undefined;
          if (update.total && update.completed !== undefined) {
            const fraction = Math.min(1, update.completed / update.total);
            increment = (fraction - lastFraction) * 100;
            lastFraction = fraction;
          }
          progress.report({ message: update.message, increment });
        },
      };
      try {
        return await work({ signal: controller.signal, progress: sink });
      } finally {
        subscription.dispose();
      }
    },
  );
}
