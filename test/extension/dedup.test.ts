/**
 * Sync to Host (dedup) inside the real extension host: the command runs with arguments (no
 * prompts) against the lab's engine and sshd, and the webview's final state carries the figures.
 * The remote engine's socket is the oracle.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as vscode from 'vscode';
import type { SyncPanelState } from '../../src/vscode/dedup/syncPanel';
import type { LabEndpoints } from '../lab/endpoints';

const run = promisify(execFile);

suite('dedup sync (extension host)', () => {
  let lab: LabEndpoints;
  let work: string;
  const tag = `wharf-dedup-ext-${process.pid}-${Date.now().toString(36)}:1`;

  suiteSetup(async function () {
    this.timeout(120_000);
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext, 'extension wharf.wharf is not loaded');
    await ext.activate();
    const root = process.env.WHARF_LAB_ROOT ?? path.join(ext.extensionPath, '.wharf-lab');
    const file = path.join(root, 'endpoints.json');
    assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
    lab = JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-dedup-ext-'));
    await run('docker', ['-H', lab.docker.local.host, 'tag', lab.images.busybox, tag]);
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    for (const host of [lab.docker.local.host, lab.docker.remote.host]) await run('docker', ['-H', host, 'rmi', '-f', tag]).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('wharf.syncToHost runs with arguments and the webview reports the figures', async function () {
    this.timeout(180_000);
    const state = (await vscode.commands.executeCommand('wharf.syncToHost', {
      image: tag,
      host: lab.ssh.alias,
      engineHost: lab.docker.local.host,
      sshConfigFile: lab.ssh.configFile,
      poolPath: path.join(work, 'pool'),
      remotePool: path.join(work, 'remote-pool'),
    })) as SyncPanelState | undefined;
    assert.ok(state, 'the command returned no panel state (see the Wharf log)');
    assert.strictEqual(state.error, undefined);
    assert.strictEqual(state.done, true);
    const f = state.figures;
    assert.ok(f);
    assert.strictEqual(f.phase, 'done');
    assert.strictEqual(f.verified, true);
    assert.ok(f.chunksTotal > 0);
    assert.strictEqual(f.chunksPresent + f.chunksSent, f.chunksTotal);
    assert.ok(f.wireBytes > 0 && f.saveGzipBytes > 0);
    assert.ok(state.history.length >= 1 && state.history[state.history.length - 1].ok);
    assert.match(state.chunking, /avg 8 KiB/);
    const { stdout } = await run('docker', ['-H', lab.docker.remote.host, 'image', 'inspect', '--format', '{{.Id}}', tag]);
    assert.strictEqual(stdout.trim(), f.imageId);
  });

  test('wharf.cleanHostPool drops the image from the host pool and frees its segments', async function () {
    this.timeout(120_000);
    const remotePool = path.join(work, 'remote-pool');
    const segments = () => fs.readdirSync(path.join(remotePool, 'segs')).filter((name) => !name.endsWith('.idx'));
    const before = segments().length;
    assert.ok(before > 0, 'the sync left segments on the host');
    const result = (await vscode.commands.executeCommand('wharf.cleanHostPool', {
      host: lab.ssh.alias,
      remove: [tag],
      sshConfigFile: lab.ssh.configFile,
      poolPath: path.join(work, 'pool'),
      remotePool,
      confirmed: true,
    })) as { plansDropped: string[]; plansKept: string[]; segmentsFreed: number } | undefined;
    assert.ok(result, 'the command returned no result (see the Wharf log)');
    assert.strictEqual(result.plansDropped.length, 1);
    assert.strictEqual(result.plansKept.length, 0);
    assert.strictEqual(result.segmentsFreed, before);
    assert.deepStrictEqual(segments(), []);
    // The host's engine keeps the image: only the pool was cleaned.
    const { stdout } = await run('docker', ['-H', lab.docker.remote.host, 'image', 'inspect', '--format', '{{.Id}}', tag]);
    assert.match(stdout.trim(), /^sha256:/);
  });
});
