/**
 * ProxyJump on the lab: the jump aliases point at the lab's sshd (10.99.0.2, in its own netns) and
 * the target is that same sshd reached through them. sshd sees a jumped session coming from
 * 10.99.0.2 itself (the jump host connected out), a direct one from this host (10.99.0.1).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { closeEngine, connectEngine } from '../../../src/engines/docker/client';
import { parseHost } from '../../../src/engines/docker/endpoint';
import { isWharfError } from '../../../src/engines/core/errors';
import { resolveSshTarget } from '../../../src/engines/ssh/config';
import { connectSsh, jumpsOf } from '../../../src/engines/ssh/connection';
import { execCapture } from '../../../src/engines/ssh/exec';
import { openHost } from '../../../src/engines/transfer/host';
import { sendImage } from '../../../src/engines/transfer/send';
import { buildRandomLayer, imageId, removeImages, transferLab, type TransferLab } from '../transfer/helpers';

const run = promisify(execFile);
const IMAGE = 'wharf-test/jump-send:1';

describe('ProxyJump through the lab sshd', () => {
  let t: TransferLab;
  let dir: string;
  let configFile: string;

  const sessionSource = async (alias: string) => {
    const client = await connectSsh(await resolveSshTarget(alias, { configFile }));
    try {
      const result = await execCapture(client, ['sh', '-c', 'echo $SSH_CONNECTION']);
      return { source: result.stdout.trim().split(' ')[0], jumps: jumpsOf(client).length };
    } finally {
      client.end();
    }
  };

  before(async () => {
    t = await transferLab();
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-jump-'));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other_host_key')]);
    const otherKey = (await readFile(path.join(dir, 'other_host_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const changedKnownHosts = path.join(dir, 'known_hosts_changed');
    await writeFile(changedKnownHosts, `${t.lab.ssh.host} ${otherKey}\n`);
    const { host, identityFile, knownHosts } = t.lab.ssh;
    const block = (alias: string, lines: string[]) => [`Host ${alias}`, ...lines.map((line) => `  ${line}`)];
    configFile = path.join(dir, 'config');
    await writeFile(
      configFile,
      [
        ...block('jump-a jump-b', ['ProxyJump none']),
        ...block('jump-changed', ['UserKnownHostsFile ' + changedKnownHosts, 'ProxyJump none']),
        ...block('via-one', ['ProxyJump jump-a']),
        ...block('via-two', ['ProxyJump jump-a,jump-b']),
        ...block('via-changed-jump', ['ProxyJump jump-changed']),
        ...block('changed-behind-jump', ['UserKnownHostsFile ' + changedKnownHosts, 'ProxyJump jump-a']),
        ...block('closed-behind-jump', ['Port 1', 'ProxyJump jump-a']),
        ...block('loop-a', ['ProxyJump loop-b']),
        ...block('loop-b', ['ProxyJump loop-a']),
        ...block('direct', ['ProxyJump none']),
        // Everything else (jump hosts included) would jump via a host that does not exist.
        ...block('*', [`HostName ${host}`, 'Port 22', 'User root', `IdentityFile ${identityFile}`, `UserKnownHostsFile ${knownHosts}`, 'ProxyJump no-such-bastion.invalid']),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });
  after(async () => {
    await removeImages(t.remote, [IMAGE]);
    await removeImages(t.local, [IMAGE]);
    await rm(dir, { recursive: true, force: true });
  });

  it('connects directly with ProxyJump none, through one jump, and through a chain of two', async () => {
    assert.deepEqual(await sessionSource('direct'), { source: '10.99.0.1', jumps: 0 });
    assert.deepEqual(await sessionSource('via-one'), { source: t.lab.ssh.host, jumps: 1 });
    assert.deepEqual(await sessionSource('via-two'), { source: t.lab.ssh.host, jumps: 2 });
  });

  it('closing the target closes every jump', async () => {
    const client = await connectSsh(await resolveSshTarget('via-two', { configFile }));
    const jumps = jumpsOf(client);
    assert.equal(jumps.length, 2);
    const closed = jumps.map((jump) => once(jump, 'close'));
    client.end();
    await Promise.all(closed);
  });

  it('refuses a changed host key on the jump host, naming the jump host', async () => {
    let asked = false;
    await assert.rejects(
      connectSsh(await resolveSshTarget('via-changed-jump', { configFile }), { acceptUnknownKey: async () => (asked = true) }),
      (error) =>
        isWharfError(error, 'host-key') &&
        error.object === 'SSH jump host jump-changed (ProxyJump of via-changed-jump)' &&
        /the host key changed/.test(error.message) &&
        /ssh-keygen -R "10\.99\.0\.2"/.test(error.message),
    );
    assert.equal(asked, false, 'a changed key is never put to the user');
  });

  it('checks the target key too when it is reached through a jump', async () => {
    await assert.rejects(
      connectSsh(await resolveSshTarget('changed-behind-jump', { configFile })),
      (error) => isWharfError(error, 'host-key') && error.object === 'SSH host changed-behind-jump' && /the host key changed/.test(error.message),
    );
  });

  it('says when the jump host cannot reach the target, and refuses a ProxyJump loop', async () => {
    await assert.rejects(
      connectSsh(await resolveSshTarget('closed-behind-jump', { configFile })),
      (error) => isWharfError(error, 'unreachable') && /the jump host jump-a could not connect to 10\.99\.0\.2:1/.test(error.message) && /AllowTcpForwarding/.test(error.message),
    );
    await assert.rejects(
      connectSsh(await resolveSshTarget('loop-a', { configFile })),
      (error) => isWharfError(error, 'bad-input') && /ProxyJump loops back to loop-a/.test(error.message),
    );
  });

  it('the remote engine (dial-stdio) answers through a jump', async () => {
    const docker = await connectEngine(parseHost('ssh://via-one'), { sshConfigFile: configFile });
    try {
      const info = (await docker.info()) as { ID: string };
      const expected = (await t.remote(['info', '--format', '{{.ID}}'])).trim();
      assert.equal(info.ID, expected, 'the engine behind the jump is the lab remote engine');
    } finally {
      closeEngine(docker);
    }
  });

  it('sends an image through a jump', async () => {
    const sourceId = await buildRandomLayer(t, t.lab.images.busybox, IMAGE, '/jump.bin', 300_000);
    await removeImages(t.remote, [IMAGE]);
    const host = await openHost({ host: 'via-one', configFile });
    try {
      const result = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: IMAGE });
      assert.equal(result.alreadyPresent, false);
      assert.equal(await imageId(t.remote, IMAGE), sourceId);
    } finally {
      host.close();
    }
  });
});
