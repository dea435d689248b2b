/**
 * The Images and Containers trees inside the real extension host, pointed at the lab's engines
 * (settings updated from here): the trees are read through their providers (the extension's
 * activate() returns them), and the context-menu commands run on lab objects. The docker CLI,
 * talking to the lab engine directly, is the oracle.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as vscode from 'vscode';
import type { ContainersTree } from '../../src/vscode/docker/containersTree';
import type { ImagesTree } from '../../src/vscode/docker/imagesTree';
import type { ContainerNode, EngineNode, ExplorerNode, ImageNode, MessageNode, RepositoryNode } from '../../src/vscode/docker/nodes';
import type { LabEndpoints } from '../lab/endpoints';
import { tinyTar } from '../engines/docker/fixtures';

const run = promisify(execFile);
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const REPO = `wharf-ext-test/app-${suffix}`;
const CONTAINER = `wharf-ext-${suffix}`;

interface Api {
  trees: { images: ImagesTree; containers: ContainersTree };
}

let lab: LabEndpoints;
let api: Api;
let tmp: string;

function labEndpoints(extensionPath: string): LabEndpoints {
  const root = process.env.WHARF_LAB_ROOT ?? path.join(extensionPath, '.wharf-lab');
  const file = path.join(root, 'endpoints.json');
  assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
}

const docker = (...args: string[]) => run('docker', ['-H', lab.docker.local.host, ...args]).then((result) => result.stdout.trim());

async function children(tree: ImagesTree | ContainersTree, node?: ExplorerNode): Promise<ExplorerNode[]> {
  return (await (tree as unknown as vscode.TreeDataProvider<ExplorerNode>).getChildren(node)) ?? [];
}

async function engine(tree: ImagesTree | ContainersTree, name: string): Promise<EngineNode> {
  const roots = (await children(tree)) as EngineNode[];
  const found = roots.find((node) => node.name === name);
  assert.ok(found, `no engine "${name}" in ${JSON.stringify(roots.map((node) => node.name))}`);
  return found;
}

async function imageNode(tag: string): Promise<ImageNode | undefined> {
  const lab = await engine(api.trees.images, 'lab');
  const repo = ((await children(api.trees.images, lab)) as RepositoryNode[]).find((node) => node.repository === REPO);
  if (!repo) return undefined;
  return ((await children(api.trees.images, repo)) as ImageNode[]).find((node) => node.image.tag === tag);
}

async function containerNode(): Promise<ContainerNode | undefined> {
  const lab = await engine(api.trees.containers, 'lab');
  return ((await children(api.trees.containers, lab)) as ContainerNode[]).find((node) => node.type === 'container' && node.container.name === CONTAINER);
}

const item = (tree: ImagesTree | ContainersTree, node: ExplorerNode) => (tree as unknown as vscode.TreeDataProvider<ExplorerNode>).getTreeItem(node) as vscode.TreeItem;

suite('docker explorer', () => {
  suiteSetup(async function () {
    this.timeout(120_000);
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext);
    api = (await ext.activate()) as Api;
    assert.ok(api?.trees?.images, 'activate() does not return the trees');
    lab = labEndpoints(ext.extensionPath);
    assert.strictEqual(lab.docker.local.external, false, 'tests only run against the lab engine');
    const config = vscode.workspace.getConfiguration('wharf');
    await config.update('showDefaultEngine', false, vscode.ConfigurationTarget.Global);
    await config.update('ssh.configFile', lab.ssh.configFile, vscode.ConfigurationTarget.Global);
    await config.update(
      'engines',
      [
        { name: 'lab', host: lab.docker.local.host },
        { name: 'lab-remote', host: `ssh://${lab.ssh.alias}` },
        { name: 'broken', host: 'unix:///nonexistent/wharf-broken.sock' },
      ],
      vscode.ConfigurationTarget.Global,
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-ext-docker-'));
    fs.writeFileSync(path.join(tmp, 'image.tar'), tinyTar('marker.txt', suffix));
    await docker('import', path.join(tmp, 'image.tar'), `${REPO}:1`);
    await docker('create', '--name', CONTAINER, '--network', 'none', lab.images.busybox, 'sleep', '300');
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    await docker('rm', '-f', CONTAINER).catch(() => undefined);
    for (const tag of ['1', '2']) await docker('rmi', '-f', `${REPO}:${tag}`).catch(() => undefined);
    const config = vscode.workspace.getConfiguration('wharf');
    for (const key of ['engines', 'showDefaultEngine', 'ssh.configFile']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the Images tree shows each configured engine, the lab image grouped by repository', async () => {
    const roots = (await children(api.trees.images)) as EngineNode[];
    assert.deepStrictEqual(roots.map((node) => node.name), ['lab', 'lab-remote', 'broken']);
    assert.strictEqual(item(api.trees.images, roots[0]).contextValue, 'wharf.engine');
    assert.strictEqual(roots[1].error, undefined, `the remote engine over ssh:// failed: ${roots[1].error?.message}`);
    const node = await imageNode('1');
    assert.ok(node, `${REPO}:1 is not in the tree`);
    const treeItem = item(api.trees.images, node);
    assert.strictEqual(treeItem.contextValue, 'wharf.image');
    assert.strictEqual(treeItem.label, '1');
    assert.match(String(treeItem.description), /B · /);
    // Ids are stable across refreshes, and getParent leads back to the engine (reveal needs both).
    const again = await imageNode('1');
    assert.strictEqual(item(api.trees.images, again!).id, treeItem.id);
    const parent = api.trees.images.getParent(node) as RepositoryNode;
    assert.strictEqual(parent.repository, REPO);
    assert.strictEqual((api.trees.images.getParent(parent) as EngineNode).name, 'lab');
  });

  test('an unreachable engine says why, with retry, choose-engine and settings actions', async () => {
    const broken = await engine(api.trees.images, 'broken');
    assert.ok(broken.error, 'the broken engine has no error');
    assert.strictEqual(item(api.trees.images, broken).contextValue, 'wharf.engineError');
    const nodes = (await children(api.trees.images, broken)) as MessageNode[];
    assert.match(nodes[0].label, /no such socket/);
    assert.deepStrictEqual(
      nodes.slice(1).map((node) => node.command?.command),
      ['wharf.retryEngine', 'wharf.chooseEngine', 'wharf.openSettings'],
    );
    const containers = await engine(api.trees.containers, 'broken');
    assert.match(containers.error?.message ?? '', /no such socket/);
  });

  test('tag and remove run from the context menu on a lab image', async () => {
    const node = await imageNode('1');
    assert.ok(node);
    const tagged = await vscode.commands.executeCommand<string>('wharf.tagImage', node, undefined, `${REPO}:2`);
    assert.strictEqual(tagged, `${REPO}:2`);
    assert.strictEqual(await docker('image', 'inspect', '--format', '{{.Id}}', `${REPO}:2`), node.image.id);
    const second = await imageNode('2');
    assert.ok(second, 'the new tag is not in the tree');
    const removed = await vscode.commands.executeCommand<{ untagged: string[] }>('wharf.removeImage', second, undefined, { confirmed: true });
    assert.deepStrictEqual(removed?.untagged, [`${REPO}:2`]);
    await assert.rejects(docker('image', 'inspect', `${REPO}:2`));
    assert.strictEqual(await imageNode('2'), undefined);
    assert.ok(await imageNode('1'), 'removing one tag kept the other');
  });

  test('inspect and history open read-only documents', async () => {
    const node = await imageNode('1');
    assert.ok(node);
    const inspect = await vscode.commands.executeCommand<vscode.TextDocument>('wharf.inspectImage', node);
    assert.strictEqual(inspect.uri.scheme, 'wharf-inspect');
    assert.strictEqual((JSON.parse(inspect.getText()) as { Id: string }).Id, node.image.id);
    const history = await vscode.commands.executeCommand<vscode.TextDocument>('wharf.imageHistory', node);
    assert.match(history.getText(), /^History of .*\n\nLAYER +CREATED +SIZE +CREATED BY\n/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('start and stop a container made from the lab busybox image', async function () {
    this.timeout(90_000);
    let node = await containerNode();
    assert.ok(node, `${CONTAINER} is not in the Containers tree`);
    assert.strictEqual(item(api.trees.containers, node).contextValue, 'wharf.exitedContainer');
    const id = item(api.trees.containers, node).id;
    await vscode.commands.executeCommand('wharf.startContainer', node);
    assert.strictEqual(await docker('inspect', '--format', '{{.State.Running}}', CONTAINER), 'true');
    node = await containerNode();
    assert.strictEqual(item(api.trees.containers, node!).contextValue, 'wharf.runningContainer');
    assert.strictEqual(item(api.trees.containers, node!).id, id, 'the id does not change with the state');
    await vscode.commands.executeCommand('wharf.stopContainer', node);
    assert.strictEqual(await docker('inspect', '--format', '{{.State.Running}}', CONTAINER), 'false');
    node = await containerNode();
    assert.strictEqual(item(api.trees.containers, node!).contextValue, 'wharf.exitedContainer');
  });

  test('remove a container after confirmation', async () => {
    const node = await containerNode();
    assert.ok(node);
    await vscode.commands.executeCommand('wharf.removeContainer', node, undefined, { confirmed: true });
    await assert.rejects(docker('inspect', CONTAINER));
    assert.strictEqual(await containerNode(), undefined);
  });

  test('an engine that does not answer shows as connecting without holding the others back', async function () {
    this.timeout(60_000);
    // A socket that accepts and never answers: what a slow SSH host or a pending prompt looks like.
    const socketPath = path.join(tmp, 'silent.sock');
    const held: import('net').Socket[] = [];
    const silent = (await import('net')).createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    const config = vscode.workspace.getConfiguration('wharf');
    const before = config.get('engines');
    try {
      await config.update('engines', [{ name: 'lab', host: lab.docker.local.host }, { name: 'silent', host: `unix://${socketPath}` }], vscode.ConfigurationTarget.Global);
      const roots = (await children(api.trees.images)) as EngineNode[];
      const byName = new Map(roots.map((node) => [node.name, node]));
      assert.strictEqual(byName.get('silent')?.pending, true, 'the silent engine is shown as connecting');
      assert.ok((await children(api.trees.images, byName.get('lab'))).length > 0, 'the lab engine is listed meanwhile');
      // When the silent engine finally fails, the tree refreshes by itself and shows why.
      const refreshed = new Promise<void>((resolve) => {
        const subscription = (api.trees.images as unknown as vscode.TreeDataProvider<ExplorerNode>).onDidChangeTreeData!(() => {
          subscription.dispose();
          resolve();
        });
      });
      for (const socket of held) socket.destroy();
      silent.close();
      await refreshed;
      const after = ((await children(api.trees.images)) as EngineNode[]).find((node) => node.name === 'silent');
      assert.ok(after && !after.pending && after.error, `the silent engine now reports an error: ${JSON.stringify(after)}`);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
      await config.update('engines', before, vscode.ConfigurationTarget.Global);
    }
  });
});
