/**
 * "Permission denied" and "disk full" on the host, for real: a throwaway sshd and engine in the
 * lab's netns (throwawayHost.ts), so the shared lab's engine is never filled or locked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { openHost, type OpenHost } from '../../../src/engines/transfer/host';
import { sendImage } from '../../../src/engines/transfer/send';
import { dockerCli } from '../../lab/lab';
import { buildRandomLayer, removeImages, transferLab, type TransferLab } from './helpers';
import { startThrowawayHost, type ThrowawayHost } from './throwawayHost';

const SMALL = 'wharf-test/limits-small:1';
const BIG = 'wharf-test/limits-big:1';
const TMPFS_MB = 40;

describe('host limits on a throwaway host: no docker permission, disk full', () => {
  let t: TransferLab;
  let host: ThrowawayHost;
  const open: OpenHost[] = [];
  const connect = async (alias: string) => {
    const opened = await openHost({ host: alias, configFile: host.configFile });
    open.push(opened);
    return opened;
  };

  before(async () => {
    t = await transferLab();
    host = await startThrowawayHost(t.lab, TMPFS_MB);
    await t.local(['tag', t.lab.images.busybox, SMALL]);
  });
  after(async () => {
    for (const opened of open) opened.close();
    await host?.stop();
    await removeImages(t.local, [SMALL, BIG]);
  });

  it('a user outside the docker group: "permission denied on the engine socket", before and during docker load', async () => {
    const ssh = await connect('tw-user');
    for (const full of [false, true]) {
      await assert.rejects(
        sendImage({ docker: t.docker, ssh: ssh.client, host: ssh.name, image: SMALL, full }),
        (error) => isWharfError(error, 'forbidden') && error.object === 'docker on tw-user' && /permission denied on the engine socket/.test(error.message) && /"docker" group/.test(error.message),
        `full: ${full}`,
      );
    }
  });

  it(`a host whose engine has ${TMPFS_MB} MB of disk: "no space left", and nothing loaded`, async () => {
    const bigId = await buildRandomLayer(t, t.lab.images.busybox, BIG, '/fill.bin', (TMPFS_MB + 16) * 1_000_000);
    const ssh = await connect('tw-root');
    await assert.rejects(
      sendImage({ docker: t.docker, ssh: ssh.client, host: ssh.name, image: BIG }),
      (error) => isWharfError(error, 'disk-full') && error.object === 'docker on tw-root' && /no space left on device/.test(error.message) && /Free disk space on tw-root/.test(error.message),
    );
    const images = await dockerCli(host.engine, ['image', 'ls', '--all', '--quiet', '--no-trunc']);
    assert.ok(!images.includes(bigId), 'the image is not on the host');
    // The same host takes an image that fits: the failure was the disk, not the connection.
    const small = await sendImage({ docker: t.docker, ssh: ssh.client, host: ssh.name, image: SMALL });
    assert.equal(small.alreadyPresent, false);
  });
});
