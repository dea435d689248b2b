/**
 * The etcd Keys view and the etcd: file system inside the real extension host, pointed at the
 * lab's three-member cluster (settings updated from here). etcdctl, talking to the cluster
 * directly, is the oracle: a key opened as a document, edited and saved is in etcd; a save that
 * races a change made elsewhere is refused and their value stays.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import * as vscode from 'vscode';
import type { EtcdFeature } from '../../src/vscode/etcd/feature';
import type { EtcdNode } from '../../src/vscode/etcd/tree';
import type { LabEndpoints } from '../lab/endpoints';

const run = promisify(execFile);
const PREFIX = `/wharf-ext-test/${process.pid}-${Date.now().toString(36)}/`;
let lab: LabEndpoints;
let feature: EtcdFeature;

function labEndpoints(extensionPath: string): LabEndpoints {
  const root = process.env.WHARF_LAB_ROOT ?? path.join(extensionPath, '.wharf-lab');
  const file = path.join(root, 'endpoints.json');
  assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
}

const etcdctl = (...args: string[]) => run('etcdctl', ['--endpoints', lab.etcd.endpoints.join(','), ...args], { env: { ...process.env, ETCDCTL_API: '3' } }).then((result) => result.stdout);
const uriOf = (key: string) => vscode.Uri.from({ scheme: 'etcd', authority: 'lab', path: key });

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, withinMs = 15_000): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function replaceAll(document: vscode.TextDocument, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), text);
  assert.ok(await vscode.workspace.applyEdit(edit));
}

suite('etcd keys', () => {
  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext);
    lab = labEndpoints(ext.extensionPath);
    await vscode.workspace.getConfiguration('wharf').update('etcd.clusters', [{ name: 'lab', endpoints: lab.etcd.endpoints }], vscode.ConfigurationTarget.Global);
    feature = ((await ext.activate()) as { etcd: EtcdFeature }).etcd;
    await etcdctl('put', `${PREFIX}app/config.json`, '{"replicas": 1}');
    await etcdctl('put', `${PREFIX}app/settings`, 'replicas: 1\nimage: app:1\n');
    await etcdctl('put', `${PREFIX}readme`, 'plain text');
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    if (lab) await etcdctl('del', '--prefix', PREFIX).catch(() => undefined);
    await feature?.tree.setFilter('lab', '');
    await vscode.workspace.getConfiguration('wharf').update('etcd.clusters', undefined, vscode.ConfigurationTarget.Global);
  });

  test('the tree shows the cluster, then the filtered prefix as folders and keys', async () => {
    const roots = await feature.tree.getChildren();
    const cluster = roots.find((node) => node.type === 'cluster' && node.cluster === 'lab');
    assert.ok(cluster, `no lab cluster in ${JSON.stringify(roots)}`);
    assert.strictEqual(feature.tree.getTreeItem(cluster).contextValue, 'wharf.etcdCluster');
    await feature.tree.setFilter('lab', PREFIX);
    const children = await feature.tree.getChildren(cluster);
    assert.deepStrictEqual(children.map((node) => `${node.type}:${'name' in node ? node.name : ''}`), ['folder:app', 'key:readme']);
    const folder = children[0] as EtcdNode;
    assert.strictEqual(feature.tree.getTreeItem(folder).contextValue, 'wharf.etcdFolder');
    const keys = await feature.tree.getChildren(folder);
    assert.deepStrictEqual(keys.map((node) => ('name' in node ? node.name : node.type)), ['config.json', 'settings']);
    assert.strictEqual(feature.tree.getTreeItem(keys[0]).contextValue, 'wharf.etcdKey');
  });

  test('"Load more…" appends the next page where the last one ended', async () => {
    const base = `${PREFIX}many/`;
    const names = Array.from({ length: 250 }, (_, index) => `k${String(index).padStart(3, '0')}`);
    // etcd caps a transaction at 128 operations: two of 125.
    for (const half of [names.slice(0, 125), names.slice(125)]) {
      const child = execFile('etcdctl', ['--endpoints', lab.etcd.endpoints.join(','), 'txn'], { env: { ...process.env, ETCDCTL_API: '3' } });
      // No compares, the puts, no failure branch: three sections, each ended by a blank line.
      child.stdin?.end(`\n${half.map((name) => `put ${base}${name} v`).join('\n')}\n\n\n`);
      await new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`etcdctl txn exit ${code}`)))));
    }
    await vscode.workspace.getConfiguration('wharf').update('etcd.pageSize', 100, vscode.ConfigurationTarget.Global);
    try {
      const [cluster] = (await feature.tree.getChildren()).filter((node) => node.type === 'cluster' && node.cluster === 'lab');
      await feature.tree.setFilter('lab', PREFIX);
      const folder = (await feature.tree.getChildren(cluster)).find((node) => node.type === 'folder' && node.name === 'many');
      assert.ok(folder, 'the many/ folder is listed');
      const keysOf = (nodes: EtcdNode[]) => nodes.filter((node) => node.type === 'key').map((node) => ('name' in node ? node.name : ''));
      let children = await feature.tree.getChildren(folder);
      assert.deepStrictEqual(keysOf(children), names.slice(0, 100));
      for (const shown of [200, 250]) {
        const more = children.find((node): node is EtcdNode & { type: 'more' } => node.type === 'more');
        assert.ok(more, `a Load more… node while ${keysOf(children).length} of 250 are shown`);
        feature.tree.loadMore(more);
        children = await feature.tree.getChildren(folder);
        assert.deepStrictEqual(keysOf(children), names.slice(0, shown), 'in order, no key twice, none skipped');
      }
      assert.ok(!children.some((node) => node.type === 'more'), 'no Load more… once everything is shown');
    } finally {
      await vscode.workspace.getConfiguration('wharf').update('etcd.pageSize', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('a put made elsewhere shows in the tree', async () => {
    const cluster = (await feature.tree.getChildren()).find((node) => node.type === 'cluster' && node.cluster === 'lab')!;
    await feature.tree.getChildren(cluster);
    const changed = new Promise<void>((resolve) => {
      const subscription = feature.tree.onDidChangeTreeData(() => {
        subscription.dispose();
        resolve();
      });
    });
    await etcdctl('put', `${PREFIX}zz-new`, 'x');
    await changed;
    const names = await waitFor(async () => {
      const children = await feature.tree.getChildren(cluster);
      const list = children.map((node) => ('name' in node ? node.name : ''));
      return list.includes('zz-new') ? list : undefined;
    }, 'zz-new in the tree');
    assert.ok(names.includes('zz-new'));
  });

  test('opens a key as a document (language by content), edits and saves it into etcd', async () => {
    const document = await vscode.workspace.openTextDocument(uriOf(`${PREFIX}app/settings`));
    await vscode.window.showTextDocument(document);
    assert.strictEqual(document.getText(), 'replicas: 1\nimage: app:1\n');
    await waitFor(() => (vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === document.uri.toString())?.languageId === 'yaml' ? true : undefined), 'the YAML language');
    const current = vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === document.uri.toString())!;
    await replaceAll(current, 'replicas: 3\nimage: app:2\n');
    assert.strictEqual(await current.save(), true);
    assert.strictEqual(await etcdctl('get', '--print-value-only', `${PREFIX}app/settings`), 'replicas: 3\nimage: app:2\n\n');
  });

  test('a save racing a change made elsewhere is refused and their value stays', async () => {
    const key = `${PREFIX}app/config.json`;
    const document = await vscode.workspace.openTextDocument(uriOf(key));
    await vscode.window.showTextDocument(document);
    assert.strictEqual(document.getText(), '{"replicas": 1}');
    await replaceAll(document, '{"replicas": 5}');
    await etcdctl('put', key, '{"replicas": 2}');
    const saved = await Promise.resolve(document.save()).catch(() => false);
    assert.strictEqual(saved, false, 'the racing save must be refused');
    assert.strictEqual(await etcdctl('get', '--print-value-only', key), '{"replicas": 2}\n');
    assert.ok(document.isDirty, 'our edit is still in the editor');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test('a binary value is read-only and cannot be overwritten with text', async () => {
    const key = `${PREFIX}blob`;
    // \x00\xff\xfe are not text: written through the engine's own file system with raw bytes.
    await vscode.workspace.fs.writeFile(uriOf(key), new Uint8Array([0, 255, 254, 1, 2, 3]));
    const stat = await vscode.workspace.fs.stat(uriOf(key));
    assert.strictEqual(stat.permissions, vscode.FilePermission.Readonly);
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uriOf(key), new TextEncoder().encode('text'))));
    assert.deepStrictEqual([...(await vscode.workspace.fs.readFile(uriOf(key)))], [0, 255, 254, 1, 2, 3]);
  });

  test('a missing key is FileNotFound', async () => {
    await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(uriOf(`${PREFIX}nope`))), (error: unknown) => error instanceof vscode.FileSystemError && error.code === 'FileNotFound');
  });

  test('history lists earlier revisions; health reports three members', async () => {
    const document = (await vscode.commands.executeCommand('wharf.etcdHealth', { type: 'cluster', id: 'etcd\u0000lab', cluster: 'lab' })) as vscode.TextDocument;
    assert.match(document.getText(), /Quorum: yes \(3 of 3 members answer/);
  });
});
