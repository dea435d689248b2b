/**
 * Switch Over inside the real extension host: `wharf.switchover` runs with arguments (no prompts)
 * against the lab's engine and etcd, HAProxy and an in-process `wharf confd`; the webview's final
 * state (returned by the command and kept in the extension's exports) shows every step done.
 * Then `wharf.switchoverRollback` brings v1 back and the panel says so.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { SwitchoverPanelState } from '../../src/vscode/switchover/protocol';
import { httpProbe } from '../../src/engines/switchover/http';
import { setupScenario, type Scenario } from '../engines/switchover/support';

suite('switchover (extension host)', () => {
  let s: Scenario | undefined;

  suiteSetup(async function () {
    this.timeout(240_000);
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext, 'extension wharf.wharf is not loaded');
    await ext.activate();
    s = await setupScenario('ext');
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    await s?.cleanup();
  });

  test('wharf.switchover runs with arguments; the timeline ends with every step done; Roll back reverts', async function () {
    this.timeout(180_000);
    const scenario = s!;
    const { plan } = scenario;
    const state = (await vscode.commands.executeCommand('wharf.switchover', { ...plan, engineHost: plan.host })) as SwitchoverPanelState | undefined;
    assert.ok(state, 'the command returned no panel state (see the Wharf log)');
    assert.strictEqual(state.error, undefined, state.error);
    assert.strictEqual(state.status, 'done');
    assert.strictEqual(state.canRollBack, true);
    assert.deepStrictEqual(
      state.steps.map((step) => `${step.step}:${step.status}`),
      ['start-new', 'health', 'put-key', 'proxy-serves', 'remove-old-key', 'drain', 'stop-old', 'retention'].map((step) => `${step}:done`),
    );
    assert.ok(state.steps.find((step) => step.step === 'proxy-serves')!.lines.some((line) => /applied revision/.test(line)));
    const exported = (vscode.extensions.getExtension('wharf.wharf')!.exports as { switchover: { lastState(): SwitchoverPanelState | undefined } }).switchover.lastState();
    assert.strictEqual(exported?.status, 'done');
    assert.strictEqual((await httpProbe(`${plan.proxyUrl}/`, 2000)).body.trim(), 'v2');

    const back = (await vscode.commands.executeCommand('wharf.switchoverRollback', { plan, engineHost: plan.host, confirmed: true })) as SwitchoverPanelState | undefined;
    assert.ok(back, 'the rollback returned no panel state');
    assert.strictEqual(back.error, undefined, back.error);
    assert.strictEqual(back.status, 'reverted');
    assert.strictEqual((await httpProbe(`${plan.proxyUrl}/`, 2000)).body.trim(), 'v1');
  });
});
