/**
 * `wharf confd` rules: an empty prefix is never applied (the proxy keeps serving); the nginx
 * renderer path (render, nginx -t, atomic replace, reload) carries a switchover through.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { after, describe, it } from 'node:test';
import { put } from '../../../src/engines/etcd/edit';
import { httpProbe, sleep } from '../../../src/engines/switchover/http';
import type { NginxDriver } from '../../../src/engines/switchover/proxy/nginx';
import { runSwitchover } from '../../../src/engines/switchover/run';
import { revisionAfterDelete, waitApplied } from '../../../src/engines/switchover/traffic';
import { setupScenario, type Scenario } from './support';

const scenarios: Scenario[] = [];
after(async () => {
  for (const s of scenarios) await s.cleanup();
});

describe('wharf confd', () => {
  it('never applies an empty set: with every key deleted the proxy keeps serving the last one', async () => {
    const s = await setupScenario('empty');
    scenarios.push(s);
    const key = `${s.plan.prefix}${s.plan.key}`;
    const value = (await s.cluster.client.get(key).string())!;
    const { revision } = await revisionAfterDelete(s.cluster, key);
    for (let i = 0; s.confd!.stats.skippedEmpty === 0; i++) {
      assert.ok(i < 100, 'confd did not see the empty prefix');
      await sleep(50);
    }
    assert.equal((await httpProbe(`${s.proxyUrl}/`, 2000)).body.trim(), 'v1');
    assert.ok(BigInt(s.confd!.stats.appliedRevision) < BigInt(revision), 'an empty set is not reported as applied');
    const back = await put(s.cluster, key, Buffer.from(value));
    await waitApplied(s.cluster, `${s.plan.statusPrefix}confd/applied_revision`, back.modRevision, 10_000, () => undefined);
    assert.equal((await httpProbe(`${s.proxyUrl}/`, 2000)).body.trim(), 'v1');
  });

  it('the nginx renderer carries a switchover: upstream file rendered, checked, swapped, reloaded', async () => {
    const s = await setupScenario('nginx', { proxy: 'nginx' });
    scenarios.push(s);
    const result = await runSwitchover(s.plan, s);
    assert.equal(result.ok, true, `${result.failedStep}: ${result.error?.message}\n${s.logs.slice(-10).join('\n')}`);
    const text = await fs.readFile(s.nginx!.upstreamFile, 'utf8');
    assert.match(text, /^# Rendered by wharf confd/);
    assert.equal(text.match(/server /g)?.length, 1, 'only the new backend is left');
    assert.ok((s.driver as NginxDriver).reloads >= 2, 'one reload to add v2, one to remove v1');
    assert.equal((await httpProbe(`${s.proxyUrl}/`, 2000)).body.trim(), 'v2');
  });
});
