/** Runs inside the extension host (see index.ts): activation, manifest and a command round trip. */
import * as assert from 'assert';
import * as vscode from 'vscode';

const EXTENSION_ID = 'wharf.wharf';
const VIEWS: Record<string, string> = {
  'wharf.registries': 'Registries',
  'wharf.images': 'Images',
  'wharf.containers': 'Containers',
  'wharf.etcd': 'etcd Keys',
};

interface About {
  version: string;
  vscodeVersion: string;
  engines: Record<string, string>;
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
  return ext;
}

suite('activation', () => {
  test('the extension is present and activates', async () => {
    const ext = extension();
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  test('the Wharf activity-bar container holds the four views', () => {
    const contributes = extension().packageJSON.contributes ?? {};
    const containers: { id: string; title: string }[] = contributes.viewsContainers?.activitybar ?? [];
    const wharf = containers.find((c) => c.id === 'wharf');
    assert.ok(wharf, 'no activity-bar container "wharf"');
    assert.strictEqual(wharf.title, 'Wharf');
    const views: { id: string; name: string }[] = contributes.views?.wharf ?? [];
    const byId = Object.fromEntries(views.map((v) => [v.id, v.name]));
    for (const [id, name] of Object.entries(VIEWS)) assert.strictEqual(byId[id], name, `view ${id}`);
  });

  test('every contributed command is registered after activation', async () => {
    const ext = extension();
    await ext.activate();
    const contributed: string[] = (ext.packageJSON.contributes?.commands ?? []).map((c: { command: string }) => c.command);
    assert.ok(contributed.includes('wharf.about'), 'wharf.about is not contributed');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  test('wharf.about round-trips the versions', async () => {
    const ext = extension();
    const about = await vscode.commands.executeCommand<About>('wharf.about');
    assert.ok(about && typeof about === 'object', 'wharf.about returned nothing');
    assert.strictEqual(about.version, ext.packageJSON.version);
    assert.strictEqual(about.vscodeVersion, vscode.version);
    assert.strictEqual(about.engines?.vscode, ext.packageJSON.engines.vscode);
  });

  test('the test environment reaches the extension host', () => {
    assert.strictEqual(process.env.WHARF_TEST, '1');
  });
});
