/**
 * Registries tree and Promote inside the real extension host, against the lab's registries: the
 * tree is read through its provider (activate() returns it), wharf.promote runs on a tag node with
 * its target given (no prompts), and the stage registry's tree then shows the image with the
 * source's digest. The registry API, spoken directly, is the oracle.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PromoteResult } from '../../src/engines/promote/promote';
import type { RegistriesTree, RegistryNode, RegistryTreeNode, RepositoryNode, TagNode, DetailNode } from '../../src/vscode/registries/tree';
import type { LabEndpoints } from '../lab/endpoints';
import { pushOciImage } from '../support/ociImage';

const suffix = `${process.pid}-${Date.now().toString(36)}`;
const REPO = `wharf-ext-test/promote-${suffix}`;

let lab: LabEndpoints;
let tree: RegistriesTree;

function labEndpoints(extensionPath: string): LabEndpoints {
  const root = process.env.WHARF_LAB_ROOT ?? path.join(extensionPath, '.wharf-lab');
  const file = path.join(root, 'endpoints.json');
  assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
}

async function children(node?: RegistryTreeNode): Promise<RegistryTreeNode[]> {
  return (await tree.getChildren(node)) ?? [];
}

async function find<T extends RegistryTreeNode>(parent: RegistryTreeNode | undefined, match: (node: RegistryTreeNode) => boolean, what: string): Promise<T> {
  const nodes = await children(parent);
  const found = nodes.find(match);
  assert.ok(found, `no ${what} among ${JSON.stringify(nodes.map((node) => ('label' in node ? node.label : node.id)))}`);
  return found as T;
}

/** Catalog pages are 100 repositories; follow "Load more…" until the repository shows. */
async function findRepository(registry: RegistryNode, repository: string): Promise<RepositoryNode> {
  for (let i = 0; i < 50; i++) {
    const nodes = await children(registry);
    const found = nodes.find((node) => node.type === 'repository' && node.repository === repository);
    if (found) return found as RepositoryNode;
    const more = nodes.find((node) => node.type === 'loadMore');
    assert.ok(more && more.type === 'loadMore', `no repository ${repository} and nothing more to load`);
    tree.loadMore(more);
  }
  throw new Error(`repository ${repository} not found after 50 pages`);
}

function pushImage(registry: string, repository: string, tag: string): Promise<string> {
  return pushOciImage(registry, repository, tag, [Buffer.from(`layer ${suffix}`.repeat(500))]);
}

suite('registries tree and promote', () => {
  let digest: string;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext);
    lab = labEndpoints(ext.extensionPath);
    const api = (await ext.activate()) as { trees: { registries: RegistriesTree } };
    tree = api.trees.registries;
    await vscode.workspace.getConfiguration('wharf').update(
      'registries',
      [
        { name: 'test', address: lab.registries.test.address, auth: 'anonymous' },
        { name: 'stage', address: lab.registries.stage.address, auth: 'anonymous' },
      ],
      vscode.ConfigurationTarget.Global,
    );
    digest = await pushImage(lab.registries.test.address, REPO, '1.0');
  });

  test('the tree lists registries, repositories, tags and manifest details', async () => {
    const roots = (await children()) as RegistryNode[];
    assert.deepStrictEqual(roots.map((node) => node.label).slice(0, 2), ['test', 'stage']);
    assert.strictEqual(tree.getTreeItem(roots[0]).contextValue, 'wharf.registry');
    const repo = await findRepository(roots[0], REPO);
    assert.strictEqual(tree.getTreeItem(repo).contextValue, 'wharf.registryRepository');
    const tag = await find<TagNode>(repo, (node) => node.type === 'tag' && node.tag === '1.0', 'tag 1.0');
    assert.strictEqual(tree.getTreeItem(tag).contextValue, 'wharf.registryTag');
    const details = (await children(tag)) as DetailNode[];
    assert.strictEqual(details.find((node) => node.label === 'digest')?.description, digest);
    assert.ok(details.some((node) => node.label === 'layer 1'));
  });

  test('the tag filter narrows the tags', async () => {
    await pushImage(lab.registries.test.address, REPO, '2.0-rc');
    const roots = (await children()) as RegistryNode[];
    const repo = await findRepository(roots[0], REPO);
    await vscode.commands.executeCommand('wharf.registryFilterTags', repo, 'rc');
    const tags = (await children(repo)).filter((node): node is TagNode => node.type === 'tag').map((node) => node.tag);
    assert.deepStrictEqual(tags, ['2.0-rc']);
    await vscode.commands.executeCommand('wharf.registryFilterTags', repo, '');
    const all = (await children(repo)).filter((node): node is TagNode => node.type === 'tag').map((node) => node.tag);
    assert.deepStrictEqual(all, ['1.0', '2.0-rc']);
  });

  test('an unreachable registry shows an error node with a way out', async () => {
    const node: RegistryNode = { type: 'registry', id: 'registry:127.0.0.1:9', registry: '127.0.0.1:9', label: 'gone', setting: { address: '127.0.0.1:9' } };
    const [error] = await children(node);
    assert.strictEqual(error.type, 'error');
    const item = tree.getTreeItem(error);
    assert.strictEqual(item.command?.command, 'wharf.registryRefresh');
  });

  test('wharf.promote copies the tag to the stage registry and the stage tree shows it', async () => {
    const roots = (await children()) as RegistryNode[];
    const repo = await findRepository(roots[0], REPO);
    const tag = await find<TagNode>(repo, (node) => node.type === 'tag' && node.tag === '1.0', 'tag 1.0');
    const target = `${lab.registries.stage.address}/${REPO}:1.0`;
    const result = (await vscode.commands.executeCommand('wharf.promote', tag, { target, quiet: true })) as PromoteResult | undefined;
    assert.ok(result, 'the command returned no result (see the Wharf log)');
    assert.strictEqual(result.via, 'registry');
    assert.strictEqual(result.digest, digest);
    assert.strictEqual(result.summary?.copied, 2);

    const stage = roots.find((node) => node.label === 'stage') as RegistryNode;
    const stageRepo = await findRepository(stage, REPO);
    const stageTag = await find<TagNode>(stageRepo, (node) => node.type === 'tag' && node.tag === '1.0', 'promoted tag 1.0');
    const details = (await children(stageTag)) as DetailNode[];
    assert.strictEqual(details.find((node) => node.label === 'digest')?.description, digest, 'same digest at the stage');

    // Also from an object with a `ref` (what the Images tree passes, in effect), to another tag.
    const again = (await vscode.commands.executeCommand('wharf.promote', { ref: tag.ref }, { target: `${lab.registries.stage.address}/${REPO}:again`, quiet: true })) as PromoteResult | undefined;
    assert.strictEqual(again?.summary?.skipped, 2);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (folder) {
      const lines = fs.readFileSync(path.join(folder, '.wharf', 'promotions.jsonl'), 'utf8').trim().split('\n');
      assert.ok(lines.length >= 2);
      assert.strictEqual(JSON.parse(lines[lines.length - 2]).targetDigest, digest);
      // The record shows in the tree: the stage tag says where it came from, the source where it went.
      tree.refresh();
      const promotedFrom = ((await children(stageTag)) as DetailNode[]).find((node) => node.label === 'promoted from');
      assert.strictEqual(promotedFrom?.copy, tag.ref, 'the stage tag names its source');
      const promotedTo = ((await children(tag)) as DetailNode[]).filter((node) => node.label === 'promoted to').map((node) => node.copy);
      assert.ok(promotedTo.includes(target) && promotedTo.includes(`${lab.registries.stage.address}/${REPO}:again`), `source tag lists both targets: ${promotedTo.join(', ')}`);
    } else {
      assert.fail('the extension tests run with a workspace folder, where promotions are recorded');
    }
  });
});
