/**
 * What every benchmark shares: medians of repeated runs, the machine line, and the table that
 * puts Wharf beside the peer tool with the peer's exact command line and the ratio.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `work` `runs` times (after `setup` each time, untimed) and returns every duration in ms. */
export async function timeRuns(runs: number, work: () => Promise<unknown>, setup?: () => Promise<unknown>): Promise<number[]> {
  return (await timeInterleaved(runs, [{ work, setup }]))[0];
}

/**
 * Times several contenders in turn, round after round (A B A B …), each after its own untimed
 * setup: a busy spell on a shared 2-core machine then hits every contender alike, not one block.
 */
export async function timeInterleaved(runs: number, contenders: { work: () => Promise<unknown>; setup?: () => Promise<unknown> }[]): Promise<number[][]> {
  const durations = contenders.map(() => [] as number[]);
  for (let index = 0; index < runs; index++) {
    for (const [position, contender] of contenders.entries()) {
      if (contender.setup) await contender.setup();
      const started = performance.now();
      await contender.work();
      durations[position].push(performance.now() - started);
    }
  }
  return durations;
}

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, ${os.release()}`;
}

export interface BenchRow {
  /** What is measured, e.g. "first tree level, 100k keys". */
  metric: string;
  wharf: number;
  peer?: number;
  unit: string;
  /** The peer's exact command line (or "-" where there is no peer). */
  peerCommand?: string;
  /** The bound on wharf/peer, e.g. 0.8; shown with a pass/fail mark. */
  target?: { ratio?: number; absolute?: number };
}

const format = (value: number | undefined, unit: string) => (value === undefined || Number.isNaN(value) ? '-' : `${value >= 100 ? value.toFixed(0) : value.toFixed(2)} ${unit}`);

/** Prints the table; returns false when a target was missed (the caller decides the exit code). */
export function printBenchTable(title: string, rows: BenchRow[], notes: string[] = []): boolean {
  let allMet = true;
  const lines = rows.map((row) => {
    const ratio = row.peer ? row.wharf / row.peer : undefined;
    let verdict = '';
    if (row.target?.ratio !== undefined && ratio !== undefined) {
      const met = ratio <= row.target.ratio;
      allMet &&= met;
      verdict = `${met ? 'met' : 'MISSED'} (≤ ${row.target.ratio}×)`;
    } else if (row.target?.absolute !== undefined) {
      const met = row.wharf <= row.target.absolute;
      allMet &&= met;
      verdict = `${met ? 'met' : 'MISSED'} (≤ ${row.target.absolute} ${row.unit})`;
    }
    return [row.metric, format(row.wharf, row.unit), format(row.peer, row.unit), ratio === undefined ? '-' : `${ratio.toFixed(2)}×`, verdict, row.peerCommand ?? '-'];
  });
  const header = ['metric', 'wharf', 'peer', 'ratio', 'target', 'peer command'];
  const widths = header.map((name, index) => Math.max(name.length, ...lines.map((line) => line[index].length)));
  const render = (line: string[]) => line.map((cell, index) => (index === line.length - 1 ? cell : cell.padEnd(widths[index]))).join(' | ');
  process.stdout.write(`\n## ${title}\nmachine: ${machineLine()}\n\n${render(header)}\n${widths.map((width) => '-'.repeat(width)).join('-|-')}\n`);
  for (const line of lines) process.stdout.write(`${render(line)}\n`);
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  return allMet;
}
