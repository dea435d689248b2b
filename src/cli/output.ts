/** Human tables on stdout by default, JSON with --json; progress only when stderr is a terminal. */
import type { ProgressReport, ProgressSink } from '../engines/core/progress';

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '')));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => line[index].length)));
  const format = (line: string[]) => line.map((cell, index) => cell.padEnd(widths[index])).join('  ').trimEnd();
  process.stdout.write(`${format(columns.map((column) => column.toUpperCase()))}\n`);
  for (const line of cells) process.stdout.write(`${format(line)}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function stderrProgress(): ProgressSink {
  if (!process.stderr.isTTY) return { report: () => undefined };
  return {
    report(update: ProgressReport) {
      const amount = update.total ? ` ${Math.round(((update.completed ?? 0) / update.total) * 100)}%` : '';
      process.stderr.write(`\r\x1b[K${update.message ?? ''}${amount}`);
    },
  };
}
