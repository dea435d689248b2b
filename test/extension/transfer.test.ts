/**
 * Send to Host inside the real extension host: the command runs on an image node of the Images
 * tree (the host passed as an argument, so no prompt), the remote engine's socket is the oracle,
 * and the remote engine's node in the Images tree shows the image afterwards.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import * as vscode from 'vscode';
import type { ImagesTree } from '../../src/vscode/docker/imagesTree';
import type { EngineNode, ExplorerNode, ImageNode, RepositoryNode } from '../../src/vscode/docker/nodes';
import type { SendResult } from '../../src/engines/transfer/send';
import type { LabEndpoints } from '../lab/endpoints';

const run = promisify(execFile);
const REPO = `wharf-ext-test/send-${process.pid}-${Date.now().toString(36)}`;

interface Api {
  trees: { images: ImagesTree };
}

suite('send to host (extension host)', () => {
  let lab: LabEndpoints;
  let api: Api;
  const docker = (host: string, ...args: string[]) => run('docker', ['-H', host, ...args]).then((result) => result.stdout.trim());

  const children = async (node?: ExplorerNode): Promise<ExplorerNode[]> =>
    (await (api.trees.images as unknown as vscode.TreeDataProvider<ExplorerNode>).getChildren(node)) ?? [];

  async function findImage(engineName: string, tag: string): Promise<ImageNode | undefined> {
    const engine = ((await children()) as EngineNode[]).find((node) => node.name === engineName);
    assert.ok(engine, `no engine "${engineName}" in the Images tree`);
    assert.strictEqual(engine.error, undefined, `engine ${engineName}: ${engine.error?.message}`);
    const repo = ((await children(engine)) as RepositoryNode[]).find((node) => node.repository === REPO);
    if (!repo) return undefined;
    return ((await children(repo)) as ImageNode[]).find((node) => node.image.tag === tag);
  }

  suiteSetup(async function () {
    this.timeout(120_000);
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext, 'extension wharf.wharf is not loaded');
    api = (await ext.activate()) as Api;
    const root = process.env.WHARF_LAB_ROOT ?? path.join(ext.extensionPath, '.wharf-lab');
    const file = path.join(root, 'endpoints.json');
    assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
    lab = JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
    assert.strictEqual(lab.docker.local.external, false, 'tests only run against the lab engine');
    const config = vscode.workspace.getConfiguration('wharf');
    await config.update('showDefaultEngine', false, vscode.ConfigurationTarget.Global);
    await config.update('ssh.configFile', lab.ssh.configFile, vscode.ConfigurationTarget.Global);
    await config.update('ssh.hosts', [lab.ssh.alias], vscode.ConfigurationTarget.Global);
    await config.update(
      'engines',
      [
        { name: 'lab', host: lab.docker.local.host },
        { name: 'lab-remote', host: `ssh://${lab.ssh.alias}` },
      ],
      vscode.ConfigurationTarget.Global,
    );
    await docker(lab.docker.local.host, 'tag', lab.images.busybox, `${REPO}:1`);
    await docker(lab.docker.local.host, 'tag', lab.images.busybox, `${REPO}:2`);
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    for (const host of [lab.docker.local.host, lab.docker.remote.host]) {
      for (const tag of ['1', '2']) await docker(host, 'rmi', `${REPO}:${tag}`).catch(() => undefined);
    }
    const config = vscode.workspace.getConfiguration('wharf');
    for (const key of ['engines', 'showDefaultEngine', 'ssh.configFile', 'ssh.hosts']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
  });

  test('wharf.sendToHost sends an image node to the host, and the remote engine node shows it', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('wharf.refreshImages');
    const node = await findImage('lab', '1');
    assert.ok(node, `${REPO}:1 is not in the lab engine's Images tree`);
    const result = await vscode.commands.executeCommand<SendResult | undefined>('wharf.sendToHost', node, { host: lab.ssh.alias });
    assert.ok(result, 'the command returned nothing (see the Wharf log)');
    const localId = await docker(lab.docker.local.host, 'image', 'inspect', '--format', '{{.Id}}', `${REPO}:1`);
    assert.strictEqual(result.imageId, localId);
    assert.strictEqual(await docker(lab.docker.remote.host, 'image', 'inspect', '--format', '{{.Id}}', `${REPO}:1`), localId);

    await vscode.commands.executeCommand('wharf.refreshImages');
    const remoteNode = await findImage('lab-remote', '1');
    assert.ok(remoteNode, `${REPO}:1 is not under the lab-remote engine in the Images tree`);
    assert.strictEqual(remoteNode.image.id, localId);
  });

  test('wharf.sendToHost also runs from arguments alone (no node, no prompt)', async function () {
    this.timeout(180_000);
    const result = await vscode.commands.executeCommand<SendResult | undefined>('wharf.sendToHost', {
      image: `${REPO}:2`,
      host: lab.ssh.alias,
      engineHost: lab.docker.local.host,
      compress: true,
    });
    assert.ok(result, 'the command returned nothing (see the Wharf log)');
    // The image id is already on the host (tag :1): only the tag is set, nothing is sent.
    assert.strictEqual(result.alreadyPresent, true);
    assert.strictEqual(await docker(lab.docker.remote.host, 'image', 'inspect', '--format', '{{.Id}}', `${REPO}:2`), result.imageId);
  });
});
