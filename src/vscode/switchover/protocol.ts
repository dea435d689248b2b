/** The switchover panel's state and messages; media/switchover/timeline.js reads the same shapes. */
import type { StepState } from '../../engines/switchover/events';

export type RunStatus = 'running' | 'done' | 'failed' | 'rolled-back' | 'rolling-back' | 'reverted';

export interface SwitchoverPanelState {
  title: string;
  app: string;
  /** "web-1 (web:1) → web:2" */
  summary: string;
  status: RunStatus;
  steps: StepState[];
  error?: string;
  /** A finished switchover whose old container is kept: the Roll back button is offered. */
  canRollBack: boolean;
}

/** Webview → extension. */
export type PanelMessage = { type: 'ready' } | { type: 'rollback' };
