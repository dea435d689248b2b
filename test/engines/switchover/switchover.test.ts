/**
 * Zero-downtime switchover on the lab: busybox httpd v1 → v2 behind HAProxy, driven at runtime by
 * `wharf confd` from etcd. A load generator (50 keep-alive clients, ≥ 20,000 requests) runs across
 * each switch. Counts, never times:
 *  - the switchover sees 0 failed and 0 non-2xx, and the answers move from v1 to v2;
 *  - the naive recreate (stop old, start new) under the same load sees failures;
 *  - a failing health check rolls back with 0 failed requests, the old container untouched;
 *  - with one etcd member killed during the switchover, it still completes (member restored after);
 *  - a finished switchover rolls back to v1 with 0 failed requests.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { killMember, restartMember } from '../../lab/lab';
import { naiveRecreate } from '../../../src/engines/switchover/naive';
import { readRecords } from '../../../src/engines/switchover/record';
import { rollbackLast } from '../../../src/engines/switchover/rollback';
import { runSwitchover } from '../../../src/engines/switchover/run';
import type { SwitchoverEvent } from '../../../src/engines/switchover/events';
import { statusPrefixOf } from '../../../src/engines/switchover/plan';
import { underLoad } from './load';
import { appContainers, setupScenario, type Scenario } from './support';

const scenarios: Scenario[] = [];
after(async () => {
  for (const s of scenarios) await s.cleanup();
});

async function scenario(name: string, options: Parameters<typeof setupScenario>[1] = {}): Promise<Scenario> {
  const s = await setupScenario(name, options);
  scenarios.push(s);
  return s;
}

const summary = (r: { requests: number; ok2xx: number; non2xx: number; errors: number; versions: Record<string, number>; errorKinds: Record<string, number> }) =>
  `${r.requests} requests, ${r.ok2xx} 2xx, ${r.non2xx} non-2xx, ${r.errors} errors ${JSON.stringify(r.errorKinds)}; versions ${JSON.stringify(r.versions)}`;

describe('switchover through etcd and HAProxy (runtime API)', () => {
  it('switches v1 → v2 under load with 0 failed requests, then rolls back to v1 with 0 failed', async () => {
    const s = await scenario('zero');
    const events: SwitchoverEvent[] = [];
    const run = await underLoad(s.proxyUrl, () => runSwitchover(s.plan, s, { onEvent: (e) => events.push(e) }));
    const r = run.report;
    console.log(`switchover: ${summary(r)}`);
    assert.equal(run.result.ok, true, `switchover failed at ${run.result.failedStep}: ${run.result.error?.message}\n${s.logs.slice(-20).join('\n')}`);
    assert.ok(r.requests >= 20_000, `only ${r.requests} requests`);
    assert.equal(r.errors, 0, summary(r));
    assert.equal(r.non2xx, 0, summary(r));
    assert.deepEqual(r.order, ['v1', 'v2'], 'answers start with v1 and move to v2');
    assert.ok(r.versions.v1 > 0 && r.versions.v2 > 0);
    assert.ok(r.tail.every((body) => body === 'v2'), 'after the switch only v2 answers');
    // The timeline: every forward step done, in order, with log lines.
    const steps = run.result.steps.filter((step) => step.step !== 'rollback');
    assert.deepEqual(steps.map((step) => step.status), steps.map(() => 'done'));
    assert.ok(events.some((e) => e.step === 'proxy-serves' && e.lines.some((line) => /applied revision/.test(line))));
    // The old container is stopped and kept; the record names it.
    const old = await s.docker.getContainer(s.plan.container).inspect();
    assert.equal(old.State.Running, false);
    const doc = await readRecords(s.cluster, statusPrefixOf(s.plan), s.app);
    assert.equal(doc.history.length, 1);
    assert.equal(doc.history[0].old.id, old.Id);

    const back = await underLoad(s.proxyUrl, () => rollbackLast(s.plan, s), { total: 10_000 });
    console.log(`rollback: ${summary(back.report)}`);
    assert.equal(back.result.ok, true, back.result.error?.message);
    assert.equal(back.report.failed, 0, summary(back.report));
    assert.ok(back.report.tail.every((body) => body === 'v1'), 'after the rollback only v1 answers');
    const containers = await appContainers(s.docker, s.app);
    assert.equal(containers.length, 1, 'the v2 container is removed');
    assert.equal(containers[0].State, 'running');
    assert.equal((await readRecords(s.cluster, statusPrefixOf(s.plan), s.app)).history.length, 0);
  });

  it('the naive recreate (stop old, start new) under the same load fails requests', async () => {
    const s = await scenario('naive');
    const run = await underLoad(s.proxyUrl, () => naiveRecreate(s.plan, s));
    console.log(`naive recreate: ${summary(run.report)}`);
    assert.ok(run.report.failed > 0, `expected failures, saw none: ${summary(run.report)}`);
    assert.ok(run.report.tail.every((body) => body === 'v2'));
  });

  it('a failing health check rolls back with 0 failed requests and the old container untouched', async () => {
    const s = await scenario('badhealth', { image: 'wharf-test/switch-app:bad', plan: { health: { kind: 'http', path: '/health', expectStatus: 200, timeoutMs: 500, intervalMs: 200, successes: 2, withinMs: 2000 } } });
    const before = await s.docker.getContainer(s.plan.container).inspect();
    const run = await underLoad(s.proxyUrl, () => runSwitchover(s.plan, s), { total: 20_000 });
    console.log(`failed health: ${summary(run.report)}`);
    assert.equal(run.result.ok, false);
    assert.equal(run.result.rolledBack, true);
    assert.equal(run.result.failedStep, 'health');
    assert.match(run.result.error?.message ?? '', /not healthy within/);
    assert.equal(run.report.failed, 0, summary(run.report));
    assert.deepEqual(Object.keys(run.report.versions), ['v1']);
    const afterInfo = await s.docker.getContainer(s.plan.container).inspect();
    assert.equal(afterInfo.State.Running, true);
    assert.equal(afterInfo.State.StartedAt, before.State.StartedAt, 'the old container was not restarted');
    const containers = await appContainers(s.docker, s.app);
    assert.deepEqual(containers.map((c) => c.Id), [before.Id], 'the new container is removed');
    assert.equal(run.result.steps.find((step) => step.step === 'rollback')?.status, 'done');
  });

  it('with one etcd member killed during the switchover, it still completes with 0 failed', async () => {
    const s = await scenario('member');
    const victim = s.lab.etcd.members[0].name;
    let killed: Promise<void> | undefined;
    try {
      const run = await underLoad(s.proxyUrl, () =>
        runSwitchover(s.plan, s, {
          onEvent: (event) => {
            // Kill a member as soon as the new container is healthy: the key puts, the watch and
            // the status polling all happen with one member gone.
            if (event.step === 'health' && event.status === 'done') killed = killMember(s.lab, victim);
          },
        }),
      );
      console.log(`member killed: ${summary(run.report)}`);
      assert.ok(killed, 'the member was killed during the switchover');
      await killed;
      assert.equal(run.result.ok, true, `failed at ${run.result.failedStep}: ${run.result.error?.message}\n${s.logs.slice(-20).join('\n')}`);
      assert.equal(run.report.failed, 0, summary(run.report));
      assert.deepEqual(run.report.order, ['v1', 'v2']);
      assert.ok(run.report.tail.every((body) => body === 'v2'));
    } finally {
      await restartMember(s.lab, victim);
    }
  });
});
