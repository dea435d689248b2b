import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { execCapture } from '../../../src/engines/ssh/exec';
import { openHost } from '../../../src/engines/transfer/host';
import { remoteDockerError } from '../../../src/engines/transfer/remoteDocker';
import { transferLab, type TransferLab } from './helpers';

const run = promisify(execFile);

describe('SSH host problems, each with its own message', () => {
  let t: TransferLab;
  let dir: string;
  /** A copy of the lab's ssh config with some lines replaced. */
  const configWith = async (name: string, replace: Record<string, string>) => {
    let text = await readFile(t.lab.ssh.configFile, 'utf8');
    for (const [key, value] of Object.entries(replace)) text = text.replace(new RegExp(`^(\\s*)${key}\\s.*$`, 'm'), `$1${key} ${value}`);
    const file = path.join(dir, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  };

  before(async () => {
    t = await transferLab();
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-transfer-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses a changed host key and says how to clear it', async () => {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other_host_key')]);
    const otherKey = (await readFile(path.join(dir, 'other_host_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHosts = path.join(dir, 'known_hosts_changed');
    await writeFile(knownHosts, `${t.lab.ssh.host} ${otherKey}\n`);
    const configFile = await configWith('config-changed', { UserKnownHostsFile: knownHosts });
    let asked = false;
    await assert.rejects(
      openHost({ host: t.lab.ssh.alias, configFile, ssh: { acceptUnknownKey: async () => (asked = true) } }),
      (error) => isWharfError(error, 'host-key') && /host key changed/.test(error.message) && /ssh-keygen -R/.test(error.message),
    );
    assert.equal(asked, false, 'a changed key is never put to the user');
  });

  it('refuses an unknown host key unless accepted, and records it when accepted', async () => {
    const knownHosts = path.join(dir, 'known_hosts_empty');
    await writeFile(knownHosts, '');
    const configFile = await configWith('config-unknown', { UserKnownHostsFile: knownHosts });
    let fingerprint = '';
    await assert.rejects(
      openHost({ host: t.lab.ssh.alias, configFile, ssh: { acceptUnknownKey: async (_host, shown) => ((fingerprint = shown), false) } }),
      (error) => isWharfError(error, 'host-key') && /not in known_hosts/.test(error.message),
    );
    assert.match(fingerprint, /^SHA256:/);
    const host = await openHost({ host: t.lab.ssh.alias, configFile, ssh: { acceptUnknownKey: async () => true } });
    host.close();
    assert.ok((await readFile(knownHosts, 'utf8')).includes('ssh-ed25519'), 'the accepted key was recorded');
    // Next time it is trusted without asking.
    const again = await openHost({ host: t.lab.ssh.alias, configFile, ssh: { acceptUnknownKey: async () => assert.fail('asked again') } });
    again.close();
  });

  it('reports an auth failure (a key the host does not know)', async () => {
    const wrongKey = path.join(dir, 'wrong_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const configFile = await configWith('config-wrong-key', { IdentityFile: wrongKey });
    await assert.rejects(
      openHost({ host: t.lab.ssh.alias, configFile, ssh: { agentSocket: '' } }),
      (error) => isWharfError(error, 'unauthorized') && /root was refused/.test(error.message),
    );
  });

  it('reports an unreachable host', async () => {
    const configFile = await configWith('config-closed-port', { Port: '1' });
    await assert.rejects(openHost({ host: t.lab.ssh.alias, configFile }), (error) => isWharfError(error, 'unreachable'));
  });

  it('tells "docker is not installed" from a real exit 127 on the host', async () => {
    const host = await t.open();
    try {
      const result = await execCapture(host.client, ['wharf-no-such-docker', 'load']);
      assert.equal(result.code, 127);
      const error = remoteDockerError({ host: host.name, action: 'docker load', code: result.code, stderr: result.stderr });
      assert.equal(error.code, 'not-found');
      assert.match(error.message, /docker is not installed on wharf-lab-remote/);
    } finally {
      host.close();
    }
  });

  it('classifies permission denied, disk full and a stopped engine from docker load stderr', () => {
    const table: [string, string, RegExp][] = [
      ['permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Post "http://%2Fvar%2Frun%2Fdocker.sock/v1.41/images/load": dial unix /var/run/docker.sock: connect: permission denied', 'forbidden', /docker" group/],
      ['Error processing tar file(exit status 1): write /blob: no space left on device', 'disk-full', /Free disk space/],
      ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 'unreachable', /Start Docker/],
      ['something else went wrong', 'failed', /exited with 1: something else went wrong/],
    ];
    for (const [stderr, code, message] of table) {
      const error = remoteDockerError({ host: 'h', action: 'docker load', code: 1, stderr });
      assert.equal(error.code, code, stderr);
      assert.match(error.message, message);
    }
  });
});
