/**
 * Reverses the last finished switchover while its old container is kept: start the old container
 * again, wait healthy, put its key back, wait until the proxy applied and serves it, remove the new
 * key, drain, then stop and remove the new container. The record is popped. Same zero-failure
 * order as the switchover itself: the old backend serves before the new one leaves.
 */
import { messageOf, WharfError } from '../core/errors';
import { casPut } from '../etcd/edit';
import { addressOf, appPort } from './containerSpec';
import { FORWARD_STEPS, type StepId } from './events';
import { waitHealthy } from './health';
import { sleep } from './http';
import { appliedRevisionKey, statusPrefixOf, upstreamKey, type SwitchoverPlan } from './plan';
import { readRecords, writeRecords, type SwitchoverRecord } from './record';
import { asWharfError, StepReporter, type RunOptions, type SwitchoverDeps, type SwitchoverResult } from './run';
import { bodyOf, revisionAfterDelete, waitApplied, waitServed } from './traffic';

/** The plan fields a rollback needs; the rest comes from the record. */
export type RollbackPlan = Pick<SwitchoverPlan, 'app' | 'prefix' | 'statusPrefix' | 'health' | 'proxyUrl' | 'proxyPath' | 'proxyWithinMs' | 'drainMs' | 'stopTimeoutSeconds' | 'address' | 'advertiseHost' | 'port'>;

const ROLLBACK_STEPS: StepId[] = FORWARD_STEPS.filter((s) => s !== 'retention');

export async function rollbackLast(plan: RollbackPlan, deps: SwitchoverDeps, options: RunOptions = {}): Promise<SwitchoverResult> {
  const { docker, cluster } = deps;
  const statusPrefix = statusPrefixOf(plan);
  const statusKey = appliedRevisionKey(statusPrefix);
  const r = new StepReporter(options.onEvent, ROLLBACK_STEPS);
  const doc = await readRecords(cluster, statusPrefix, plan.app);
  const last: SwitchoverRecord | undefined = doc.history[0];
  if (!last) {
    const error = new WharfError({ code: 'not-found', object: `switchover record of ${plan.app}`, cause: 'no finished switchover is recorded', remedy: 'Nothing to roll back (or retention was 0)' });
    return { ok: false, rolledBack: false, error, steps: r.timeline.list() };
  }
  const probePath = plan.proxyPath ?? '/';
  let restored = '';
  let oldKeyPut = false;
  try {
    const back = await r.step('start-new', async (log) => {
      const container = docker.getContainer(last.old.id);
      const info = await container.inspect().catch((error) => {
        throw new WharfError({ code: 'not-found', object: `container ${last.old.name}`, cause: `the previous container is gone (${messageOf(error)})`, remedy: 'It was removed by retention or by hand; switch over to the old image instead' });
      });
      if (!info.State.Running) await container.start();
      const now = await container.inspect();
      const port = appPort(now, plan.port);
      const address = port ? addressOf(now, plan.address ?? 'published', port, plan.advertiseHost ?? '127.0.0.1') : { problem: 'exposes no TCP port' };
      if (typeof address !== 'string') throw new WharfError({ code: 'failed', object: `container ${last.old.name}`, cause: address.problem });
      log(`started ${last.old.name} (${last.old.image}) again at ${address}`);
      return address;
    });
    restored = back;
    await r.step('health', (log) => waitHealthy(plan.health, { docker, containerId: last.old.id, address: back }, log, options.signal));
    const putRevision = await r.step('put-key', async (log) => {
      const result = await casPut(cluster, upstreamKey(plan, last.old.key), Buffer.from(back), '0');
      oldKeyPut = true;
      log(`${upstreamKey(plan, last.old.key)} = ${back} at revision ${result.modRevision}`);
      return result.modRevision;
    });
    await r.step('proxy-serves', async (log) => {
      await waitApplied(cluster, statusKey, putRevision, plan.proxyWithinMs, log, options.signal);
      const [body, other] = await Promise.all([bodyOf(back, probePath), bodyOf(last.new.address, probePath)]);
      await waitServed({ proxyUrl: plan.proxyUrl, path: probePath, targetBody: body !== undefined && body !== other ? body : undefined, mode: 'some', withinMs: plan.proxyWithinMs }, log, options.signal);
    });
    await r.step('remove-old-key', async (log) => {
      const removed = await revisionAfterDelete(cluster, upstreamKey(plan, last.new.key));
      log(`deleted ${upstreamKey(plan, last.new.key)} at revision ${removed.revision}`);
      await waitApplied(cluster, statusKey, removed.revision, plan.proxyWithinMs, log, options.signal);
    });
    await r.step('drain', async (log) => {
      log(`giving in-flight requests on ${last.new.address} ${plan.drainMs} ms`);
      await sleep(plan.drainMs, options.signal);
    });
  } catch (error) {
    const failure = asWharfError(error, `rollback of ${plan.app}`);
    const failedStep = r.current;
    // Leave the new release serving: take back what this rollback added.
    await r
      .step('rollback', async (log) => {
        if (oldKeyPut) {
          const removed = await revisionAfterDelete(cluster, upstreamKey(plan, last.old.key));
          await waitApplied(cluster, statusKey, removed.revision, plan.proxyWithinMs, log).catch(() => undefined);
          log(`removed ${upstreamKey(plan, last.old.key)} again`);
        }
        if (restored) {
          await docker.getContainer(last.old.id).stop({ t: plan.stopTimeoutSeconds }).catch(() => undefined);
          log(`stopped ${last.old.name} again; ${last.new.name} keeps serving`);
        }
      })
      .catch(() => undefined);
    return { ok: false, rolledBack: true, error: failure, failedStep, steps: r.timeline.list() };
  }
  await r.step('stop-old', async (log) => {
    const container = docker.getContainer(last.new.id);
    await container.stop({ t: plan.stopTimeoutSeconds }).catch(() => undefined);
    await container.remove({ force: true }).catch(() => undefined);
    log(`stopped and removed ${last.new.name} (${last.new.image})`);
    doc.history.shift();
    await writeRecords(cluster, statusPrefix, doc);
  });
  return { ok: true, rolledBack: false, record: { ...last, old: last.new, new: { ...last.old, address: restored } }, steps: r.timeline.list() };
}
