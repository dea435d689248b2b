/** The report as table rows and summary lines: one rendering for the CLI (and tests). */
import type { LayerReport } from './analyze';
import { formatBytes } from './suggestions';

export const LAYER_COLUMNS = ['line', 'instruction', 'size', 'cache', 'time', 'next', 'wasted'];

export function layerTableRows(report: LayerReport): Record<string, string>[] {
  return report.rows.map((row) => ({
    line: row.kind === 'base' ? 'base' : row.line !== undefined ? String(row.line + 1) : '',
    instruction: shorten(row.kind === 'base' ? row.createdBy || '(base layer)' : (row.instruction ?? (row.createdBy || '(no command: imported layer)')).replace(/^\/bin\/sh -c (#\(nop\)\s*)?/, ''), 60),
    size: row.size !== undefined ? formatBytes(row.size) : '',
    cache: row.cache ?? '',
    time: row.durationMs !== undefined ? `${(row.durationMs / 1000).toFixed(1)}s` : '',
    next: row.predicted ?? '',
    wasted: row.wastedBytes ? formatBytes(row.wastedBytes) : '',
  }));
}

export function layerSummary(report: LayerReport): string[] {
  const lines: string[] = [];
  for (const problem of report.problems) lines.push(`line ${problem.line + 1}: ${problem.message}`);
  if (report.build) {
    lines.push(`last build: ${report.build.status}, ${report.build.hits} cached, ${report.build.misses} rebuilt${report.build.noCache ? ' (--no-cache)' : ''}`);
    if (report.build.error) lines.push(`failed at line ${(report.build.error.line ?? -1) + 1}: ${report.build.error.message}`);
  }
  if (report.firstMiss) lines.push(`first miss: line ${report.firstMiss.line + 1} (${shorten(report.firstMiss.text, 50)}): ${report.firstMiss.cause.message}`);
  if (report.waste) lines.push(`wasted: ${formatBytes(report.waste.wastedBytes)} of ${formatBytes(report.waste.userBytes)} in your layers, efficiency ${(report.waste.efficiency * 100).toFixed(1)}%`);
  if (report.prediction) {
    const first = report.prediction.firstMiss;
    lines.push(`next build: ${report.prediction.hits} cached, ${report.prediction.misses} rebuilt${first ? `, from line ${first.line + 1}: ${first.cause?.message ?? ''}` : ''}`);
  }
  for (const suggestion of report.suggestions) lines.push(`hint${suggestion.line !== undefined ? ` (line ${suggestion.line + 1})` : ''}: ${suggestion.message}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines;
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
