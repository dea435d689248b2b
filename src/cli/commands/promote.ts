/** `wharf promote SRC DST`: flags → the promote engine. Credentials come from ~/.docker/config.json. */
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { connectEngine } from '../../engines/docker/client';
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { formatBytes } from '../../engines/promote/copy';
import { promote, type PromoteWay } from '../../engines/promote/promote';
import { loadPipeline, nextStage, stageNamed } from '../../engines/promote/stages';
import { dockerConfigCredentials } from '../../engines/registry/credentials';
import { parsePlatform } from '../../engines/registry/manifest';
import { parseReference } from '../../engines/registry/reference';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';

const USAGE = [
  'wharf promote SRC DST [--via registry|engine] [--platform os/arch[,os/arch]] [--parallel N]',
  '                     [--gate-cmd "prog arg ..."] [--gate-url URL] [--record DIR | --no-record] [--keep]',
  '                     [--host URL | --context NAME] [--json]',
  '       wharf promote SRC --next-stage [--workspace DIR]     (DST from .wharf/pipeline.json)',
  '  DST may be a stage name from .wharf/pipeline.json (the tag and repository of SRC are kept).',
].join('\n');

/** Splits --gate-cmd on whitespace into argv (no shell: quotes are not interpreted). */
function gateArgv(text: string): string[] {
  const argv = text.trim().split(/\s+/).filter(Boolean);
  if (!argv.length) throw new UsageError('--gate-cmd needs a command');
  return argv;
}

export const promoteCommand: CliCommand = {
  name: 'promote',
  summary: 'copy an image to another registry or stage (registry to registry, or through the engine)',
  usage: USAGE,
  valueFlags: ['via', 'platform', 'parallel', 'gate-cmd', 'gate-url', 'record', 'host', 'context', 'workspace'],
  async run(args: ParsedArgs) {
    const [source, targetArg, extra] = args.positionals;
    if (!source || extra) throw new UsageError('give SRC and DST');
    const via = stringFlag(args, 'via') as PromoteWay | undefined;
    if (via && via !== 'registry' && via !== 'engine') throw new UsageError('--via is registry or engine');
    const parallelText = stringFlag(args, 'parallel');
    const parallel = parallelText === undefined ? undefined : Number(parallelText);
    if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) throw new UsageError('--parallel must be a whole number ≥ 1');
    const platforms = stringFlag(args, 'platform')?.split(',').map(parsePlatform);
    const workspace = path.resolve(stringFlag(args, 'workspace') ?? process.cwd());

    // A stage name or --next-stage resolves through the workspace's pipeline.
    const pipeline = await loadPipeline(workspace);
    const sourceRef = parseReference(source);
    let target = targetArg;
    let stage = undefined as ReturnType<typeof stageNamed>;
    if (args.flags.has('next-stage')) {
      if (targetArg) throw new UsageError('give DST or --next-stage, not both');
      if (!pipeline) throw new UsageError(`--next-stage needs ${path.join(workspace, '.wharf', 'pipeline.json')}`);
      stage = nextStage(pipeline, sourceRef.registry);
    } else if (!targetArg) {
      throw new UsageError('give DST (or --next-stage)');
    } else if (pipeline && !targetArg.includes('/') && !targetArg.includes(':')) {
      stage = stageNamed(pipeline, targetArg);
      if (!stage) throw new UsageError(`"${targetArg}" is not a stage of ${pipeline.origin}`);
    }
    if (stage) target = `${stage.registry}/${sourceRef.repository}:${sourceRef.tag ?? 'latest'}`;

    const gateCmd = stringFlag(args, 'gate-cmd');
    const gateUrl = stringFlag(args, 'gate-url');
    const gate = gateCmd || gateUrl ? { command: gateCmd ? gateArgv(gateCmd) : undefined, http: gateUrl ? { url: gateUrl } : undefined, cwd: workspace } : stage?.gate;
    const recordFlag = stringFlag(args, 'record');
    const recordIn = args.flags.has('no-record') ? undefined : recordFlag ? path.resolve(recordFlag) : existsSync(path.join(workspace, '.wharf')) ? workspace : undefined;

    const json = args.flags.has('json');
    const progress = stderrProgress();
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    try {
      const result = await promote({
        source,
        target: target as string,
        via: via ?? 'auto',
        platforms,
        parallel,
        credentials: dockerConfigCredentials(),
        docker: async () => connectEngine(await resolveEndpoint({ host: stringFlag(args, 'host'), context: stringFlag(args, 'context') })),
        gate,
        stage: stage?.name,
        recordIn,
        who: os.userInfo().username,
        cleanup: !args.flags.has('keep'),
        signal: controller.signal,
        progress,
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (json) {
        printJson(result);
      } else if (result.summary) {
        const s = result.summary;
        printTable([{ via: result.via, target: result.target, digest: result.digest, copied: s.copied, skipped: s.skipped, mounted: s.mounted, moved: formatBytes(s.bytes) }], ['via', 'target', 'digest', 'copied', 'skipped', 'mounted', 'moved']);
      } else {
        printTable((result.steps ?? []).map((step) => ({ step: step.step, detail: step.detail, done: step.skipped ? 'skipped' : 'ok' })), ['step', 'done', 'detail']);
        process.stdout.write(`${result.target}${result.digest ? ` ${result.digest}` : ''}\n`);
      }
      return 0;
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
  },
};
