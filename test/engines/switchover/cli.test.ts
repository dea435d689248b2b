/**
 * The CLI end to end, as a pipeline would use it: `wharf confd` as its own process in front of
 * HAProxy, `wharf switchover` with flags (and the plan it saves), `--rollback`, and bad usage.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { httpProbe, sleep } from '../../../src/engines/switchover/http';
import { setupScenario, type Scenario } from './support';

const cli = path.resolve(__dirname, '../../../src/cli/main.js');

function wharf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function servedBody(url: string): Promise<string | undefined> {
  return (await httpProbe(`${url}/`, 2000).catch(() => undefined))?.body.trim();
}

describe('wharf switchover and wharf confd (CLI)', () => {
  let s: Scenario | undefined;
  let confd: ChildProcess | undefined;
  let confdLog = '';
  after(async () => {
    confd?.kill('SIGTERM');
    await s?.cleanup();
  });

  it('confd as a process applies the prefix to HAProxy; switchover with flags moves to v2; --rollback returns to v1', async () => {
    s = await setupScenario('cli', { confd: false });
    const { plan, haproxy } = s;
    confd = spawn(process.execPath, [cli, 'confd', '--endpoints', plan.etcd.endpoints.join(','), '--prefix', plan.prefix, '--status-key', `${plan.statusPrefix}confd/applied_revision`, '--haproxy-socket', haproxy!.socket, '--backend', haproxy!.backend, '--drain', '1000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    confd.stderr!.on('data', (d) => (confdLog += d));
    for (let i = 0; (await servedBody(s.proxyUrl)) !== 'v1'; i++) {
      assert.ok(i < 100, `confd did not make HAProxy serve v1:\n${confdLog}`);
      await sleep(100);
    }
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wharf-plan-'));
    const planFile = path.join(dir, 'plan.json');
    const flags = [
      '--host', plan.host!, '--endpoints', plan.etcd.endpoints.join(','), '--app', plan.app, '--container', plan.container, '--image', plan.image,
      '--prefix', plan.prefix, '--status-prefix', plan.statusPrefix!, '--key', plan.key, '--proxy-url', plan.proxyUrl, '--health', '/health',
      '--health-within', '5000', '--drain', '500', '--stop-timeout', '2', '--save', planFile,
    ];
    const run = await wharf(['switchover', ...flags]);
    assert.equal(run.code, 0, `${run.stderr}\n${confdLog}`);
    assert.match(run.stderr, /✓ Wait until the proxy serves it/);
    assert.match(run.stdout, /STEP\s+STATUS/);
    assert.equal(await servedBody(s.proxyUrl), 'v2');
    const saved = JSON.parse(await fs.readFile(planFile, 'utf8'));
    assert.equal(saved.image, plan.image);
    assert.equal(saved.health.path, '/health');

    const back = await wharf(['switchover', planFile, '--rollback', '--json']);
    assert.equal(back.code, 0, back.stderr);
    const result = JSON.parse(back.stdout);
    assert.equal(result.ok, true);
    assert.equal(await servedBody(s.proxyUrl), 'v1');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('bad usage exits 2; a bad plan exits 1 naming the field', async () => {
    const usage = await wharf(['confd', '--prefix', '/app/upstream/']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--haproxy-socket/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wharf-plan-'));
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, JSON.stringify({ app: 'a', container: 'c', image: 'i', prefix: 'app/upstream', key: 'k', etcd: { endpoints: ['http://127.0.0.1:1'] }, proxyUrl: 'http://127.0.0.1:1' }));
    const bad = await wharf(['switchover', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /switchover plan: prefix: "app\/upstream" must start and end with "\/"/);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
