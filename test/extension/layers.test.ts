/**
 * The Dockerfile side of the layer cache in a real extension host, on the lab engine: build through
 * `wharf.buildImage` (no prompts when arguments are given), then read the CodeLenses VS Code shows.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as vscode from 'vscode';
import type { BuildRecord } from '../../src/engines/layers/records';
import type { LabEndpoints } from '../lab/endpoints';

const run = promisify(execFile);
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const TAG = `wharf-ext-layers/app-${suffix}:1`;

let lab: LabEndpoints;
let tmp: string;
const made = new Set<string>();

function labEndpoints(extensionPath: string): LabEndpoints {
  const root = process.env.WHARF_LAB_ROOT ?? path.join(extensionPath, '.wharf-lab');
  const file = path.join(root, 'endpoints.json');
  assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
}

async function lenses(uri: vscode.Uri, expectedAtLeast: number): Promise<vscode.CodeLens[]> {
  // The provider answers from the stored record; give VS Code a moment to ask it again.
  for (let attempt = 0; ; attempt++) {
    const found = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
    if (found.length >= expectedAtLeast || attempt > 20) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const titleAt = (found: vscode.CodeLens[], line: number) => found.filter((lens) => lens.range.start.line === line).map((lens) => lens.command?.title ?? '');

suite('layer cache (Dockerfile editor)', () => {
  suiteSetup(async function () {
    this.timeout(120_000);
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext);
    await ext.activate();
    lab = labEndpoints(ext.extensionPath);
    assert.strictEqual(lab.docker.local.external, false, 'tests only run against the lab engine');
    const config = vscode.workspace.getConfiguration('wharf');
    await config.update('showDefaultEngine', false, vscode.ConfigurationTarget.Global);
    await config.update('engines', [{ name: 'lab', host: lab.docker.local.host }], vscode.ConfigurationTarget.Global);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-ext-layers-'));
    fs.writeFileSync(path.join(tmp, 'app.txt'), `app ${suffix}\n`);
    fs.writeFileSync(
      path.join(tmp, 'Dockerfile'),
      [`FROM ${lab.images.busybox}`, `ENV SUFFIX=${suffix}`, 'COPY app.txt /app/', 'RUN cat /app/app.txt > /app/copy \\', '    && echo built', 'CMD ["sh"]', ''].join('\n'),
    );
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    await run('docker', ['-H', lab.docker.local.host, 'rmi', '-f', TAG]).catch(() => undefined);
    for (const id of [...made].reverse()) await run('docker', ['-H', lab.docker.local.host, 'rmi', '-f', id]).catch(() => undefined);
    const config = vscode.workspace.getConfiguration('wharf');
    for (const key of ['engines', 'showDefaultEngine']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('CodeLenses show each step of the last build: rebuilt, then cached, with size and time', async function () {
    this.timeout(180_000);
    const uri = vscode.Uri.file(path.join(tmp, 'Dockerfile'));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);

    const before = await lenses(uri, 2);
    assert.deepStrictEqual(titleAt(before, 0).slice(0, 2), ['$(play) Build with Wharf', '$(layers) Layer cache']);

    const first = await vscode.commands.executeCommand<BuildRecord>('wharf.buildImage', uri, { tag: TAG });
    assert.ok(first, 'the build command returns its record');
    for (const step of first.steps) if (step.imageId && step.keyword !== 'FROM') made.add(step.imageId);
    assert.strictEqual(first.status, 'succeeded', first.error?.message);
    let found = await lenses(uri, 2 + 5);
    assert.match(titleAt(found, 0).join(' | '), /base image · 1\.\d MB/);
    assert.match(titleAt(found, 1)[0], /^\$\(sync\) rebuilt · 0 B · \d+\.\ds$/);
    assert.match(titleAt(found, 2)[0], /^\$\(sync\) rebuilt · \d+ B · \d+\.\ds$/);
    assert.match(titleAt(found, 3)[0], /^\$\(sync\) rebuilt · /, 'the RUN spanning two lines has its lens on its first line');
    assert.deepStrictEqual(titleAt(found, 4), [], 'no lens on a continuation line');

    const second = await vscode.commands.executeCommand<BuildRecord>('wharf.buildImage', uri, { tag: TAG });
    assert.strictEqual(second.status, 'succeeded');
    found = await lenses(uri, 2 + 5);
    for (const line of [1, 2, 3, 5]) assert.match(titleAt(found, line)[0], /^\$\(check\) cached · /, `line ${line + 1}: ${titleAt(found, line)}`);
  });

  test('a syntax error is a diagnostic on its line', async function () {
    this.timeout(30_000);
    const file = path.join(tmp, 'Broken.Dockerfile');
    fs.writeFileSync(file, `FROM ${lab.images.busybox}\nRUNN echo\n`);
    const uri = vscode.Uri.file(file);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    let diagnostics: vscode.Diagnostic[] = [];
    for (let attempt = 0; attempt < 40 && diagnostics.length === 0; attempt++) {
      diagnostics = vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'wharf');
      if (!diagnostics.length) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.strictEqual(diagnostics.length, 1);
    assert.strictEqual(diagnostics[0].range.start.line, 1);
    assert.match(diagnostics[0].message, /unknown instruction: RUNN/);
  });
});
