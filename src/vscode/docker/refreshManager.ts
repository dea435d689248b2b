/**
 * One place that decides when a view refreshes. Engine events, the safety poll and settings
 * changes all call refresh(target, reason); everything but a manual refresh is debounced, and a
 * hidden view is only marked stale and refreshed when it shows again. The safety poll (30 s, never
 * faster) runs only while a view is visible.
 */
import * as vscode from 'vscode';

export type RefreshReason = 'manual' | 'event' | 'poll' | 'config' | 'command';

export interface Refreshable {
  refresh(): void;
}

export interface RefreshTarget {
  tree: Refreshable;
  view?: vscode.TreeView<unknown>;
}

export const SAFETY_POLL_MS = 30_000;
const DEBOUNCE_MS = 500;

export class RefreshManager implements vscode.Disposable {
  private readonly targets = new Map<string, RefreshTarget & { stale: boolean; timer?: NodeJS.Timeout }>();
  private poll?: NodeJS.Timeout;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly visibility = new vscode.EventEmitter<boolean>();
  /** Fires with true when the first view shows and false when the last one hides. */
  readonly onDidChangeAnyVisible = this.visibility.event;
  private wasVisible = false;
  /** Counts refreshes by target, for tests and the log. */
  readonly counts = new Map<string, number>();

  add(name: string, target: RefreshTarget): void {
    this.targets.set(name, { ...target, stale: false });
    if (target.view) {
      this.subscriptions.push(
        target.view.onDidChangeVisibility(({ visible }) => {
          const entry = this.targets.get(name);
          if (visible && entry?.stale) this.refresh(name, 'manual');
          this.updatePoll();
        }),
      );
    }
    this.updatePoll();
  }

  attachView(name: string, view: vscode.TreeView<unknown>): void {
    const entry = this.targets.get(name);
    if (entry) this.targets.delete(name);
    this.add(name, { tree: entry?.tree ?? { refresh: () => undefined }, view });
  }

  isVisible(name: string): boolean {
    const entry = this.targets.get(name);
    // Without a view handle we cannot know: treat it as visible (refreshing is harmless).
    return entry ? (entry.view?.visible ?? true) : false;
  }

  get anyVisible(): boolean {
    return [...this.targets.keys()].some((name) => this.isVisible(name));
  }

  refresh(name: string, reason: RefreshReason): void {
    const entry = this.targets.get(name);
    if (!entry) return;
    if (!this.isVisible(name) && reason !== 'manual' && reason !== 'command') {
      entry.stale = true;
      return;
    }
    const run = () => {
      entry.timer = undefined;
      entry.stale = false;
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      entry.tree.refresh();
    };
    clearTimeout(entry.timer);
    if (reason === 'manual') run();
    else entry.timer = setTimeout(run, DEBOUNCE_MS);
  }

  refreshAll(reason: RefreshReason): void {
    for (const name of this.targets.keys()) this.refresh(name, reason);
  }

  private updatePoll(): void {
    const visible = this.anyVisible;
    if (visible && !this.poll) this.poll = setInterval(() => this.refreshAll('poll'), SAFETY_POLL_MS);
    if (!visible && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
    if (visible !== this.wasVisible) {
      this.wasVisible = visible;
      this.visibility.fire(visible);
    }
  }

  dispose(): void {
    clearInterval(this.poll);
    for (const entry of this.targets.values()) clearTimeout(entry.timer);
    for (const subscription of this.subscriptions) subscription.dispose();
    this.visibility.dispose();
  }
}
