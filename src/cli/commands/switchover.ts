/**
 * `wharf switchover PLAN.json` or `wharf switchover --container NAME --image REF --prefix P --key K ...`:
 * the editor's switchover for pipelines, same plan format. `--rollback` reverses the last one.
 * Steps print on stderr as they happen; the summary goes to stdout (a table, or --json).
 */
import type Docker from 'dockerode';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { EtcdCluster } from '../../engines/etcd/cluster';
import { clusterFromEnv } from '../../engines/etcd/connection';
import { STEP_TITLES, type SwitchoverEvent } from '../../engines/switchover/events';
import { loadPlan, savePlan, validatePlan, type SwitchoverPlan } from '../../engines/switchover/plan';
import { rollbackLast } from '../../engines/switchover/rollback';
import { runSwitchover, type SwitchoverResult } from '../../engines/switchover/run';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';

const VALUE_FLAGS = [
  'host', 'context', 'endpoints', 'container', 'image', 'prefix', 'key', 'new-key', 'app', 'status-prefix', 'health', 'health-status',
  'health-timeout', 'health-interval', 'health-within', 'proxy-url', 'proxy-path', 'drain', 'stop-timeout', 'retention', 'port', 'address',
  'advertise-host', 'save', 'name',
];

const num = (args: ParsedArgs, flag: string): number | undefined => {
  const value = stringFlag(args, flag);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} takes a number, not "${value}"`);
  return n;
};

/** Flags override the plan file's fields; without a file, flags are the whole plan. */
export async function planFromArgs(args: ParsedArgs): Promise<SwitchoverPlan> {
  const file = args.positionals[0];
  const base: Record<string, unknown> = file ? { ...(await loadPlan(file)) } : {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) base[field] = value;
  };
  const container = stringFlag(args, 'container');
  set('container', container);
  set('app', stringFlag(args, 'app') ?? (base.app === undefined ? container : undefined));
  set('image', stringFlag(args, 'image'));
  set('prefix', stringFlag(args, 'prefix'));
  set('key', stringFlag(args, 'key'));
  set('newKey', stringFlag(args, 'new-key'));
  set('newName', stringFlag(args, 'name'));
  set('statusPrefix', stringFlag(args, 'status-prefix'));
  set('proxyUrl', stringFlag(args, 'proxy-url'));
  set('proxyPath', stringFlag(args, 'proxy-path'));
  set('drainMs', num(args, 'drain'));
  set('stopTimeoutSeconds', num(args, 'stop-timeout'));
  set('retention', num(args, 'retention'));
  set('port', num(args, 'port'));
  set('address', stringFlag(args, 'address'));
  set('advertiseHost', stringFlag(args, 'advertise-host'));
  set('host', stringFlag(args, 'host'));
  const endpoints = stringFlag(args, 'endpoints');
  if (endpoints || (!base.etcd && process.env.ETCDCTL_ENDPOINTS)) base.etcd = { endpoints: clusterFromEnv(process.env, endpoints).endpoints };
  if (args.flags.has('image-health')) base.health = { kind: 'image', withinMs: num(args, 'health-within') ?? 30_000 };
  else if (['health', 'health-status', 'health-timeout', 'health-interval', 'health-within'].some((flag) => args.flags.has(flag))) {
    const previous = (base.health as Record<string, unknown> | undefined) ?? {};
    base.health = {
      ...(previous.kind === 'image' ? {} : previous),
      kind: 'http',
      ...(stringFlag(args, 'health') ? { path: stringFlag(args, 'health') } : {}),
      ...(num(args, 'health-status') ? { expectStatus: num(args, 'health-status') } : {}),
      ...(num(args, 'health-timeout') ? { timeoutMs: num(args, 'health-timeout') } : {}),
      ...(num(args, 'health-interval') ? { intervalMs: num(args, 'health-interval') } : {}),
      ...(num(args, 'health-within') ? { withinMs: num(args, 'health-within') } : {}),
    };
  }
  if (args.flags.has('rollback')) {
    // A rollback reads what it needs from the record; these are only placeholders for validation.
    base.container ??= 'from-record';
    base.image ??= 'from-record';
    base.key ??= 'unused';
  }
  return validatePlan(base);
}

function printEvent(event: SwitchoverEvent): void {
  if (event.status === 'running' && event.lines.length === 0) process.stderr.write(`▶ ${STEP_TITLES[event.step]}\n`);
  for (const line of event.lines) process.stderr.write(`  ${line}\n`);
  if (event.status === 'done') process.stderr.write(`✓ ${STEP_TITLES[event.step]}\n`);
  if (event.status === 'failed') process.stderr.write(`✗ ${STEP_TITLES[event.step]}\n`);
}

export const switchover: CliCommand = {
  name: 'switchover',
  summary: 'replace a running container with a new image through etcd and the proxy, with no failed request',
  usage:
    'wharf switchover [PLAN.json] [--container NAME --image REF --prefix /app/upstream/ --key KEY --proxy-url URL] [--endpoints A,B,C] [--host URL | --context NAME]\n' +
    '       [--health PATH --health-status 200 --health-timeout MS --health-interval MS --health-within MS | --image-health] [--drain MS] [--stop-timeout S]\n' +
    '       [--retention N] [--new-key KEY] [--name NAME] [--status-prefix P] [--port N] [--address published|container] [--save FILE] [--rollback] [--quiet] [--json]',
  valueFlags: VALUE_FLAGS,
  async run(args: ParsedArgs) {
    if (args.positionals.length > 1) throw new UsageError('at most one plan file');
    const plan = await planFromArgs(args);
    const save = stringFlag(args, 'save');
    if (save) {
      await savePlan(save, plan);
      process.stderr.write(`plan saved to ${save}\n`);
    }
    const endpoint = await resolveEndpoint({ host: plan.host, context: stringFlag(args, 'context') });
    const docker: Docker = await connectEngine(endpoint);
    const cluster = await EtcdCluster.open({ ...clusterFromEnv({ ...process.env, ETCDCTL_ENDPOINTS: plan.etcd.endpoints.join(',') }), name: 'plan' });
    const controller = new AbortController();
    const cancel = () => controller.abort();
    process.once('SIGINT', cancel);
    const onEvent = args.flags.has('quiet') ? undefined : printEvent;
    let result: SwitchoverResult;
    try {
      result = args.flags.has('rollback')
        ? await rollbackLast(plan, { docker, cluster }, { onEvent, signal: controller.signal })
        : await runSwitchover(plan, { docker, cluster }, { onEvent, signal: controller.signal });
    } finally {
      process.removeListener('SIGINT', cancel);
      cluster.close();
      closeEngine(docker);
    }
    if (args.flags.has('json')) printJson({ ok: result.ok, rolledBack: result.rolledBack, failedStep: result.failedStep, error: result.error?.message, record: result.record, steps: result.steps });
    else printTable(result.steps.map((s) => ({ step: s.title, status: s.status, detail: s.lines[s.lines.length - 1] ?? '' })), ['step', 'status', 'detail']);
    if (!result.ok) {
      process.stderr.write(`wharf switchover: ${result.error?.message ?? 'failed'}${result.rolledBack ? ' (rolled back: the old container serves as before)' : ''}\n`);
      return 1;
    }
    if (result.error) process.stderr.write(`wharf switchover: traffic moved, but ${result.error.message}\n`);
    return 0;
  },
};
