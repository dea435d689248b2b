/**
 * The Layer cache webview's messages, both directions. media/layers/layers.js imports these types
 * through JSDoc, so both sides check against this one file.
 */
import type { LayerReport } from '../../engines/layers/analyze';

/** What a panel shows, in a form the webview can keep across a window reload. */
export type SavedTarget = { kind: 'dockerfile'; uri: string } | { kind: 'image'; image: string; engineId?: string };

export interface LayersViewState {
  title: string;
  /** Kept by the webview (setState) so a reload reopens the panel on the same target. */
  target?: SavedTarget;
  /** 'dockerfile' panels can build and jump to lines; 'image' panels show history only. */
  kind: 'dockerfile' | 'image';
  loading: boolean;
  progress?: string;
  error?: string;
  report?: LayerReport;
}

/** Extension → webview. */
export type ToWebview = { type: 'state'; state: LayersViewState };

/** Webview → extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'build' }
  | { type: 'reveal'; line: number };
