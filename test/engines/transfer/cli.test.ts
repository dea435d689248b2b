import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { imageId, removeImages, transferLab, type TransferLab } from './helpers';

const CLI = path.resolve(__dirname, '../../../src/cli/main.js');
const BASE = 'wharf-test/cli-base:1';

function wharf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('wharf send / save / load', () => {
  let t: TransferLab;
  let dir: string;
  let engine: string[];
  before(async () => {
    t = await transferLab();
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-cli-'));
    engine = ['--host', t.lab.docker.local.host, '--ssh-config', t.lab.ssh.configFile];
    await t.local(['tag', t.lab.images.busybox, BASE]);
  });
  after(async () => {
    await removeImages(t.remote, [BASE]);
    await removeImages(t.local, [BASE]);
    await rm(dir, { recursive: true, force: true });
  });

  it('sends an image to an ssh_config alias and prints JSON', async () => {
    await removeImages(t.remote, [BASE]);
    const result = await wharf(['send', BASE, t.lab.ssh.alias, '--json', ...engine]);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { imageId: string; host: string };
    assert.equal(json.host, t.lab.ssh.alias);
    assert.equal(await imageId(t.remote, BASE), json.imageId);
  });

  it('refuses an unknown host key, prints its fingerprint, and accepts it with --accept-new-host-key', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    await writeFile(knownHosts, '');
    const config = path.join(dir, 'config');
    await writeFile(config, (await readFile(t.lab.ssh.configFile, 'utf8')).replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${knownHosts}`), { mode: 0o600 });
    const refused = await wharf(['send', BASE, t.lab.ssh.alias, '--host', t.lab.docker.local.host, '--ssh-config', config]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /unknown host key SHA256:/);
    assert.match(refused.stderr, /--accept-new-host-key/);
    const accepted = await wharf(['send', BASE, t.lab.ssh.alias, '--accept-new-host-key', '--host', t.lab.docker.local.host, '--ssh-config', config]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(await readFile(knownHosts, 'utf8'), /ssh-ed25519/);
  });

  it('saves to .tar.gz and loads the file on the host', async () => {
    const file = path.join(dir, 'base.tar.gz');
    const saved = await wharf(['save', BASE, file, ...engine]);
    assert.equal(saved.code, 0, saved.stderr);
    await removeImages(t.remote, [BASE]);
    // ssh:// with the alias as host name: the ssh config still supplies the key and known_hosts.
    const loaded = await wharf(['load', file, `ssh://root@${t.lab.ssh.alias}:22`, '--json', ...engine]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.deepEqual((JSON.parse(loaded.stdout) as { loaded: string[] }).loaded, [BASE]);
    assert.ok(await imageId(t.remote, BASE));
  });

  it('exits 2 on bad usage and 1 with one line naming the object on failure', async () => {
    assert.equal((await wharf(['send', BASE])).code, 2);
    const missing = await wharf(['send', 'wharf-test/no-such:0', t.lab.ssh.alias, ...engine]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^wharf send: image wharf-test\/no-such:0: no such image/m);
  });
});
