/**
 * Advice from the book, tied to lines: order by change frequency, COPY late, chain RUN steps that
 * create and delete, and .dockerignore for context files that churn without being needed.
 */
import type { ParsedDockerfile } from './dockerfile';
import type { BuildRecord } from './records';
import type { WastedReport } from './wasted';

export interface Suggestion {
  kind: 'order' | 'copy-late' | 'chain' | 'wasted' | 'dockerignore';
  message: string;
  line?: number;
  endLine?: number;
}

const JUNK = [/(^|\/)\.git\//, /(^|\/)node_modules\//, /\.log$/, /(^|\/)(coverage|tmp|\.cache|dist|build|out)\//, /(^|\/)\.DS_Store$/, /(^|\/)\.vscode\//, /\.swp$/];

export function suggest(parsed: ParsedDockerfile | undefined, record: BuildRecord | undefined, waste: WastedReport | undefined, layerLines: Map<number, number>): Suggestion[] {
  const out: Suggestion[] = [];
  if (waste) {
    for (const file of waste.top) {
      if (file.addedIn < waste.firstUserLayer) continue;
      const added = layerLines.get(file.addedIn);
      const removed = layerLines.get(file.removedIn);
      if (added === undefined || removed === undefined || file.size < 1024) continue;
      out.push({
        kind: 'wasted',
        line: added,
        message: `/${file.path} (${formatBytes(file.size)}) is written at line ${added + 1} and ${file.how} at line ${removed + 1}: the image still carries it. Create and remove it in the same RUN.`,
      });
      if (out.length >= 3) break;
    }
  }
  if (!parsed) return out;
  const steps = parsed.instructions;
  // Consecutive RUNs in one stage: one layer each.
  for (let i = 0; i < steps.length; i++) {
    let j = i;
    while (j + 1 < steps.length && steps[j + 1].keyword === 'RUN' && steps[i].keyword === 'RUN' && steps[j + 1].stage === steps[i].stage) j++;
    if (j > i) {
      out.push({ kind: 'chain', line: steps[i].line, endLine: steps[j].endLine, message: `${j - i + 1} RUN steps in a row (lines ${steps[i].line + 1}–${steps[j].endLine + 1}) make ${j - i + 1} layers: chain them with && so temporary files never reach a layer.` });
      i = j;
    }
  }
  // A broad COPY before RUN steps: any edit in the context reruns them.
  for (const [index, step] of steps.entries()) {
    if (step.keyword !== 'COPY' && step.keyword !== 'ADD') continue;
    if (step.flags.from) continue;
    const sources = step.args.split(/\s+/).slice(0, -1);
    if (!sources.some((source) => source === '.' || source === './' || source === '*')) continue;
    const laterRun = steps.slice(index + 1).find((later) => later.keyword === 'RUN' && later.stage === step.stage);
    if (laterRun) {
      out.push({ kind: 'copy-late', line: step.line, message: `COPY of the whole context at line ${step.line + 1} comes before RUN at line ${laterRun.line + 1}: any file edit reruns it. Copy only what that RUN needs first (e.g. the dependency manifests) and the rest after it.` });
    }
  }
  if (record?.churn) {
    // Order by change frequency: a COPY whose files change more often should come after one whose files change less.
    const copies = record.steps.filter((step) => step.files && Object.keys(step.files).length);
    const score = (files: Record<string, string>) => Object.keys(files).reduce((sum, file) => sum + (record.churn[file] ?? 0), 0);
    for (let i = 0; i < copies.length; i++) {
      for (let j = i + 1; j < copies.length; j++) {
        if (copies[i].stage !== copies[j].stage) continue;
        const a = score(copies[i].files ?? {});
        const b = score(copies[j].files ?? {});
        if (a > b && b === 0) {
          out.push({ kind: 'order', line: copies[i].line, message: `The files copied at line ${copies[i].line + 1} changed in ${a} build(s), those at line ${copies[j].line + 1} never: move line ${copies[i].line + 1} below line ${copies[j].line + 1} so the stable step stays cached.` });
        }
      }
    }
    const churning = Object.entries(record.churn).filter(([file]) => JUNK.some((pattern) => pattern.test(file)));
    if (churning.length) {
      const names = churning.slice(0, 5).map(([file]) => file);
      out.push({ kind: 'dockerignore', message: `${names.join(', ')} changed between builds and look like local artefacts: add them to .dockerignore so they stop invalidating the cache.` });
    }
  }
  return out;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
