/** `wharf layers IMAGE|Dockerfile`: the layer-cache table; with --ci, exit 1 when thresholds are crossed. */
import { stat } from 'node:fs/promises';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { analyzeDockerfile, analyzeImage } from '../../engines/layers/analyze';
import { buildDockerfile } from '../../engines/layers/build';
import { BuildRecordStore } from '../../engines/layers/records';
import { layerSummary, LAYER_COLUMNS, layerTableRows } from '../../engines/layers/table';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';

export const layers: CliCommand = {
  name: 'layers',
  summary: 'layers of an image or a Dockerfile: sizes, cache hits, first miss and why, wasted bytes, next build',
  usage:
    'wharf layers IMAGE|Dockerfile [--context DIR] [--build [--tag T] [--no-cache]] [--host URL | --context-name NAME] [--no-waste] [--json] [--ci [--min-efficiency 0.9] [--max-wasted-bytes N]]',
  valueFlags: ['tag', 'context', 'host', 'context-name', 'min-efficiency', 'max-wasted-bytes', 'records'],
  async run(args: ParsedArgs) {
    const target = args.positionals[0];
    if (!target || args.positionals.length > 1) throw new UsageError('give one image or one Dockerfile');
    const minEfficiency = numberFlag(args, 'min-efficiency');
    const maxWasted = numberFlag(args, 'max-wasted-bytes');
    if (minEfficiency !== undefined && (minEfficiency < 0 || minEfficiency > 1)) throw new UsageError('--min-efficiency is between 0 and 1');
    const ci = args.flags.has('ci');
    if ((minEfficiency !== undefined || maxWasted !== undefined) && !ci) throw new UsageError('--min-efficiency and --max-wasted-bytes need --ci');

    const endpoint = await resolveEndpoint({ host: stringFlag(args, 'host'), context: stringFlag(args, 'context-name') });
    const docker = await connectEngine(endpoint);
    try {
      const options = {
        engine: endpoint.label,
        store: new BuildRecordStore(stringFlag(args, 'records')),
        waste: !args.flags.has('no-waste'),
        context: stringFlag(args, 'context'),
        progress: stderrProgress(),
      };
      const isFile = await stat(target).then((s) => s.isFile(), () => false);
      if (args.flags.has('build')) {
        if (!isFile) throw new UsageError('--build needs a Dockerfile');
        // The classic builder's own output goes to stderr, so stdout stays the table (or JSON).
        const { record } = await buildDockerfile(docker, {
          ...options,
          dockerfile: target,
          tag: stringFlag(args, 'tag'),
          noCache: args.flags.has('no-cache'),
          onEvent: (event) => {
            if (event.type === 'step') process.stderr.write(`Step ${event.step}/${event.total} : ${event.text}\n`);
            else if (event.type === 'cache') process.stderr.write(' ---> Using cache\n');
            else if (event.type === 'output') process.stderr.write(`${event.text}\n`);
            else if (event.type === 'error') process.stderr.write(`${event.message}\n`);
          },
        });
        if (record.status !== 'succeeded') process.stderr.write(`wharf layers: build ${record.status}${record.error?.line !== undefined ? ` at line ${record.error.line + 1}` : ''}: ${record.error?.message ?? ''}\n`);
      }
      const report = isFile ? await analyzeDockerfile(docker, target, options) : await analyzeImage(docker, target, options);
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (args.flags.has('json')) printJson(report);
      else {
        printTable(layerTableRows(report), LAYER_COLUMNS);
        for (const line of layerSummary(report)) process.stdout.write(`${line}\n`);
      }
      if (!ci) return report.problems.some((problem) => problem.severity === 'error') ? 1 : 0;
      const failures: string[] = [];
      const efficiency = report.waste?.efficiency;
      const wasted = report.waste?.wastedBytes;
      if (minEfficiency !== undefined && efficiency !== undefined && efficiency < minEfficiency) failures.push(`efficiency ${efficiency.toFixed(3)} is below --min-efficiency ${minEfficiency}`);
      if (maxWasted !== undefined && wasted !== undefined && wasted > maxWasted) failures.push(`${wasted} wasted bytes exceed --max-wasted-bytes ${maxWasted}`);
      if ((minEfficiency !== undefined || maxWasted !== undefined) && !report.waste) failures.push('no built image to measure (build it first, or drop --no-waste)');
      if (report.problems.some((problem) => problem.severity === 'error')) failures.push('the Dockerfile has syntax errors');
      for (const failure of failures) process.stderr.write(`wharf layers: ${target}: ${failure}\n`);
      return failures.length ? 1 : 0;
    } finally {
      closeEngine(docker);
    }
  },
};

function numberFlag(args: ParsedArgs, name: string): number | undefined {
  const value = stringFlag(args, name);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new UsageError(`--${name} needs a number`);
  return number;
}
