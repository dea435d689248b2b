/**
 * Build on commit inside the real extension host: `wharf.buildForHead` on a temporary git repository
 * builds on the lab engine, and the commit's short SHA shows as a tag in the Images tree.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as vscode from 'vscode';
import type { BuildOnCommitResult } from '../../src/engines/builds/buildOnCommit';
import type { ImagesTree } from '../../src/vscode/docker/imagesTree';
import type { EngineNode, ExplorerNode, ImageNode, RepositoryNode } from '../../src/vscode/docker/nodes';
import type { LabEndpoints } from '../lab/endpoints';

const run = promisify(execFile);
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const REPOSITORY = `wharf-ext-build/app-${suffix}`;

let lab: LabEndpoints;
let images: ImagesTree;
let repo: string;
const made: string[] = [];

const docker = (...args: string[]) => run('docker', ['-H', lab.docker.local.host, ...args]).then((result) => result.stdout.trim());
const git = (...args: string[]) => run('git', ['-c', 'user.name=Wharf Test', '-c', 'user.email=test@wharf.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: repo }).then((result) => result.stdout.trim());

async function children(node?: ExplorerNode): Promise<ExplorerNode[]> {
  return (await (images as unknown as vscode.TreeDataProvider<ExplorerNode>).getChildren(node)) ?? [];
}

suite('build on commit', () => {
  suiteSetup(async function () {
    this.timeout(120_000);
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext);
    const api = (await ext.activate()) as { trees: { images: ImagesTree } };
    images = api.trees.images;
    const root = process.env.WHARF_LAB_ROOT ?? path.join(ext.extensionPath, '.wharf-lab');
    const file = path.join(root, 'endpoints.json');
    assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
    lab = JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
    assert.strictEqual(lab.docker.local.external, false, 'tests only run against the lab engine');
    const config = vscode.workspace.getConfiguration('wharf');
    await config.update('showDefaultEngine', false, vscode.ConfigurationTarget.Global);
    await config.update('engines', [{ name: 'lab', host: lab.docker.local.host }], vscode.ConfigurationTarget.Global);
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-ext-build-'));
    fs.writeFileSync(path.join(repo, 'Dockerfile'), `FROM ${lab.images.busybox}\nRUN echo ${suffix} > /built.txt\n`);
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'extension build');
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    for (const ref of made) await docker('rmi', ref).catch(() => undefined);
    const config = vscode.workspace.getConfiguration('wharf');
    for (const key of ['engines', 'showDefaultEngine']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
  });

  test('wharf.buildForHead tags the image with the short SHA, and the Images tree shows it', async function () {
    this.timeout(120_000);
    const short = await git('rev-parse', '--short', 'HEAD');
    const result = await vscode.commands.executeCommand<BuildOnCommitResult | undefined>('wharf.buildForHead', { folder: repo, repository: REPOSITORY, test: `grep -q ${suffix} /built.txt` });
    assert.ok(result, 'the command returned no result (see the Wharf log)');
    made.push(...result.tags);
    assert.strictEqual(result.outcome, 'passed', result.log);
    assert.strictEqual(result.shortSha, short);
    assert.deepStrictEqual(result.tags, [`${REPOSITORY}:${short}`, `${REPOSITORY}:main`]);
    assert.strictEqual(result.test, 'passed');
    // No pipeline in this repository: nothing is pushed.
    assert.deepStrictEqual(result.pushed, []);

    const engine = ((await children()) as EngineNode[]).find((node) => node.name === 'lab');
    assert.ok(engine, 'no lab engine in the Images tree');
    const repository = ((await children(engine)) as RepositoryNode[]).find((node) => node.repository === REPOSITORY);
    assert.ok(repository, `${REPOSITORY} is not in the Images tree`);
    const tags = ((await children(repository)) as ImageNode[]).map((node) => node.image.tag).sort();
    assert.deepStrictEqual(tags, [short, 'main'].sort());
    assert.strictEqual(await docker('image', 'inspect', '--format', '{{.Id}}', `${REPOSITORY}:${short}`), result.imageId);
  });
});
