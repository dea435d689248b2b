/**
 * The shipped bundle, not the sources: dist/cli.js must load dockerode, etcd3 (with its .proto
 * files) and ssh2 (without its native addon) and reach every lab server; the .vsix must hold only
 * what runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ensureLab, repoRoot, type LabEndpoints } from '../../lab/lab';

const run = promisify(execFile);
const repo = repoRoot();
const cli = path.join(repo, 'dist', 'cli.js');

interface Check {
  part: string;
  target: string;
  ok: boolean;
  detail: string;
}

async function doctor(args: string[]): Promise<{ code: number; checks: Check[]; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'doctor', '--json', ...args], { env: { ...process.env, ETCDCTL_ENDPOINTS: '' } });
    return { code: 0, checks: JSON.parse(stdout) as Check[], stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, checks: failure.stdout ? (JSON.parse(failure.stdout) as Check[]) : [], stderr: failure.stderr };
  }
}

describe('bundle against the lab', () => {
  let lab: LabEndpoints;
  let scratch: string;
  before(async () => {
    lab = (await ensureLab()).endpoints;
    scratch = await mkdtemp(path.join(os.tmpdir(), 'wharf-bundle-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('wharf doctor reaches the engine, both registries, the etcd cluster and the SSH host', async () => {
    const result = await doctor([
      '--host', lab.docker.local.host,
      '--registry', `${lab.registries.test.address},${lab.registries.stage.address}`,
      '--endpoints', lab.etcd.endpoints.join(','),
      '--ssh', lab.ssh.alias,
      '--ssh-config', lab.ssh.configFile,
    ]);
    assert.deepEqual(result.checks.map((check) => [check.part, check.ok]), [
      ['engine', true],
      ['registry', true],
      ['registry', true],
      ['etcd', true],
      ['ssh', true],
    ], JSON.stringify(result.checks, null, 2));
    assert.equal(result.code, 0);
    assert.match(result.checks[3].detail, /3 members/);
    assert.match(result.checks[4].detail, /remote Docker \d+\./);
  });

  it('refuses an SSH host whose key changed, and says how to fix it', async () => {
    const config = path.join(scratch, 'ssh_config');
    const knownHosts = path.join(scratch, 'known_hosts');
    const realKey = (await readFile(lab.ssh.knownHosts, 'utf8')).split('\n').find((line) => line.includes('ssh-ed25519'));
    assert.ok(realKey, 'the lab records an ed25519 host key');
    // Same host, same key type, other key bytes: what a reinstalled (or spoofed) host looks like.
    const other = Buffer.from(realKey.split(/\s+/)[2], 'base64');
    other[other.length - 1] ^= 0xff;
    await writeFile(knownHosts, `${lab.ssh.host} ssh-ed25519 ${other.toString('base64')}\n`);
    await writeFile(config, `Host changed\n  HostName ${lab.ssh.host}\n  User ${lab.ssh.user}\n  IdentityFile ${lab.ssh.identityFile}\n  UserKnownHostsFile ${knownHosts}\n`);
    const result = await doctor(['--host', lab.docker.local.host, '--ssh', 'changed', '--ssh-config', config]);
    assert.equal(result.code, 1);
    const ssh = result.checks.find((check) => check.part === 'ssh');
    assert.equal(ssh?.ok, false);
    assert.match(ssh?.detail ?? '', /host key changed/);
    assert.match(ssh?.detail ?? '', /ssh-keygen -R/);
  });

  it('names the engine, the cause and the way out when an engine is not there', async () => {
    const result = await doctor(['--host', `unix://${scratch}/nothing.sock`]);
    assert.equal(result.code, 1);
    assert.match(result.checks[0].detail, /nothing\.sock: no such socket\. Start Docker, or choose another engine/);
  });

  it('exits 2 on bad usage', async () => {
    await assert.rejects(run(process.execPath, [cli, 'doctor', '--host']), (error: { code: number; stderr: string }) => error.code === 2 && /--host needs a value/.test(error.stderr));
    await assert.rejects(run(process.execPath, [cli, 'nope']), (error: { code: number }) => error.code === 2);
  });
});

describe('vsix contents', () => {
  it('holds the bundles, the etcd protos and media, and nothing native or from node_modules', async () => {
    const vsce = path.join(repo, 'node_modules', '@vscode', 'vsce', 'vsce');
    const { stdout } = await run(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: repo });
    const files = stdout.split('\n').map((line) => line.trim()).filter(Boolean).sort();
    for (const expected of ['dist/extension.js', 'dist/cli.js', 'dist/proto/rpc.proto', 'dist/proto/kv.proto', 'dist/proto/auth.proto', 'package.json', 'media/wharf.svg']) {
      assert.ok(files.includes(expected), `${expected} missing from ${files.join(', ')}`);
    }
    assert.deepEqual(files.filter((file) => file.endsWith('.node') || file.startsWith('node_modules/') || file.startsWith('src/') || file.startsWith('test/')), []);
  });
});
