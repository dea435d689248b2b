import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { exportImport } from '../../../src/engines/transfer/exportImport';
import { loadImageFromFile, saveImageToFile } from '../../../src/engines/transfer/file';
import type { OpenHost } from '../../../src/engines/transfer/host';
import { imageId, removeImages, transferLab, type TransferLab } from './helpers';

const BASE = 'wharf-test/file-base:1';

describe('save/load files and export/import containers', () => {
  let t: TransferLab;
  let host: OpenHost;
  let dir: string;
  const madeLocal: string[] = [];
  const madeRemote: string[] = [];
  const containers: string[] = [];

  before(async () => {
    t = await transferLab();
    host = await t.open();
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-file-'));
    // The lab's busybox under a tag of ours: the host keeps its own wharf-lab/busybox untouched.
    await t.local(['tag', t.lab.images.busybox, BASE]);
    madeLocal.push(BASE);
    madeRemote.push(BASE);
  });
  after(async () => {
    host?.close();
    for (const id of containers) await t.local(['rm', '--force', id]).catch(() => undefined);
    await removeImages(t.remote, madeRemote);
    await removeImages(t.local, madeLocal);
    await rm(dir, { recursive: true, force: true });
  });

  const firstBytes = async (file: string) => {
    const handle = await open(file, 'r');
    try {
      return (await handle.read(Buffer.alloc(2), 0, 2, 0)).buffer;
    } finally {
      await handle.close();
    }
  };

  for (const name of ['busybox.tar', 'busybox.tar.gz']) {
    it(`saves to ${name} and loads it on the host and locally`, async () => {
      const ref = BASE;
      const file = path.join(dir, name);
      const saved = await saveImageToFile({ docker: t.docker, image: ref, file });
      assert.equal(saved.gzip, name.endsWith('.gz'));
      assert.equal((await stat(file)).size, saved.bytes);
      const magic = await firstBytes(file);
      assert.equal(magic[0] === 0x1f && magic[1] === 0x8b, saved.gzip, 'gzip only for .tar.gz');
      assert.deepEqual((await readdir(dir)).filter((entry) => entry.endsWith('.part')), [], 'no temporary file left');

      // On the host: start without it, so the load really puts it there.
      await removeImages(t.remote, [ref]);
      const remote = await loadImageFromFile({ file, ssh: host.client, host: host.name });
      assert.deepEqual(remote.loaded, [ref]);
      assert.equal(await imageId(t.remote, ref), saved.imageId);

      await t.local(['image', 'rm', ref]);
      const local = await loadImageFromFile({ file, docker: t.docker });
      assert.deepEqual(local.loaded, [ref]);
      assert.equal(await imageId(t.local, ref), saved.imageId);
    });
  }

  it('a failed save leaves no file and no temporary file', async () => {
    const file = path.join(dir, 'missing.tar');
    await assert.rejects(saveImageToFile({ docker: t.docker, image: 'wharf-test/no-such:0', file }), (error) => isWharfError(error, 'not-found'));
    await assert.rejects(stat(file));
    assert.deepEqual((await readdir(dir)).filter((entry) => entry.startsWith('.missing')), []);
  });

  it('a cancelled save leaves no file and no temporary file', async () => {
    const file = path.join(dir, 'cancelled.tar.gz');
    const controller = new AbortController();
    await assert.rejects(
      saveImageToFile({ docker: t.docker, image: BASE, file, signal: controller.signal, progress: { report: () => controller.abort() } }),
      (error) => isWharfError(error, 'cancelled'),
    );
    await assert.rejects(stat(file));
    assert.deepEqual((await readdir(dir)).filter((entry) => entry.startsWith('.cancelled')), []);
  });

  it('refuses a file that is not an image archive, with nothing loaded', async () => {
    const file = path.join(dir, 'not-an-image.tar');
    const handle = await open(file, 'w');
    await handle.write(Buffer.alloc(4096, 0x41));
    await handle.close();
    await assert.rejects(loadImageFromFile({ file, docker: t.docker }), (error) => isWharfError(error));
  });

  it('exports a container and imports it flattened on the host and locally; a deleted secret is gone', async () => {
    // A secret added in one layer and deleted in the next: save keeps it in the lower layer, export does not.
    const built = 'wharf-test/secret-app:1';
    madeLocal.push(built);
    await t.local(['build', '--quiet', '--tag', built, '-'], `FROM ${t.lab.images.busybox}\nRUN echo s3cret > /secret\nRUN rm /secret && echo ok > /app\n`);
    const container = (await t.local(['create', built, 'true'])).trim();
    containers.push(container);

    const remoteRef = 'wharf-test/flat:remote';
    madeRemote.push(remoteRef);
    const remote = await exportImport({ docker: t.docker, container, ref: remoteRef, ssh: host.client, host: host.name, compress: true });
    assert.match(remote.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await imageId(t.remote, remoteRef), remote.imageId);
    const layers = JSON.parse(await t.remote(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', remoteRef])) as string[];
    assert.equal(layers.length, 1, 'flattened to one layer');
    const seen = await t.remote(['run', '--rm', '--network', 'none', remoteRef, 'sh', '-c', 'cat /app; test -e /secret && echo LEAKED || echo clean']);
    assert.deepEqual(seen.trim().split('\n'), ['ok', 'clean']);

    const localRef = 'wharf-test/flat:local';
    madeLocal.push(localRef);
    const local = await exportImport({ docker: t.docker, container, ref: localRef });
    assert.equal(await imageId(t.local, localRef), local.imageId);
  });

  it('says "not found" for a container the engine lacks', async () => {
    await assert.rejects(exportImport({ docker: t.docker, container: 'wharf-no-such-container', ref: 'x/y:1' }), (error) => isWharfError(error, 'not-found'));
  });
});
