/** What a switchover reports for its timeline: one event per step change, with the log lines so far. */
export type StepId = 'start-new' | 'health' | 'put-key' | 'proxy-serves' | 'remove-old-key' | 'drain' | 'stop-old' | 'retention' | 'rollback';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepState {
  step: StepId;
  title: string;
  status: StepStatus;
  lines: string[];
  startedAt?: number;
  endedAt?: number;
}

export interface SwitchoverEvent {
  step: StepId;
  status: StepStatus;
  /** Lines added by this event. */
  lines: string[];
  at: number;
}

export type EventSink = (event: SwitchoverEvent) => void;

export const STEP_TITLES: Record<StepId, string> = {
  'start-new': 'Start the new container',
  health: 'Wait until healthy',
  'put-key': 'Put its address in etcd',
  'proxy-serves': 'Wait until the proxy serves it',
  'remove-old-key': 'Remove the old key',
  drain: 'Drain the old backend',
  'stop-old': 'Stop the old container',
  retention: 'Apply retention',
  rollback: 'Roll back',
};

export const FORWARD_STEPS: StepId[] = ['start-new', 'health', 'put-key', 'proxy-serves', 'remove-old-key', 'drain', 'stop-old', 'retention'];

/** Folds events into per-step state: what the webview and the CLI's summary show. */
export class Timeline {
  readonly steps = new Map<StepId, StepState>();

  constructor(order: StepId[] = FORWARD_STEPS) {
    for (const step of order) this.steps.set(step, { step, title: STEP_TITLES[step], status: 'pending', lines: [] });
  }

  apply(event: SwitchoverEvent): void {
    let state = this.steps.get(event.step);
    if (!state) this.steps.set(event.step, (state = { step: event.step, title: STEP_TITLES[event.step], status: 'pending', lines: [] }));
    if (event.status === 'running' && state.startedAt === undefined) state.startedAt = event.at;
    if (event.status === 'done' || event.status === 'failed' || event.status === 'skipped') state.endedAt = event.at;
    state.status = event.status;
    // Bounded: a step that logs every probe keeps only its last lines.
    state.lines.push(...event.lines);
    if (state.lines.length > 200) state.lines.splice(0, state.lines.length - 200);
  }

  list(): StepState[] {
    return [...this.steps.values()];
  }
}
