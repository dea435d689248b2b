import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import type { OpenHost } from '../../../src/engines/transfer/host';
import { sendImage } from '../../../src/engines/transfer/send';
import { buildRandomLayer, imageId, removeImages, transferLab, type TransferLab } from './helpers';

const V1 = 'wharf-test/transfer-app:1';
const V2 = 'wharf-test/transfer-app:2';
const BIG = 'wharf-test/transfer-big:1';
/** The lab's busybox under a tag of ours: the host keeps its own wharf-lab/busybox untouched. */
const BASE = 'wharf-test/transfer-base:1';
const TOP_LAYER_BYTES = 1_500_000;

describe('send an image to an SSH host', () => {
  let t: TransferLab;
  let host: OpenHost;
  const madeLocal: string[] = [];
  const madeRemote: string[] = [];

  before(async () => {
    t = await transferLab();
    host = await t.open();
    await t.local(['tag', t.lab.images.busybox, BASE]);
    madeLocal.push(BASE);
    madeRemote.push(BASE);
  });
  after(async () => {
    host?.close();
    await removeImages(t.remote, madeRemote);
    await removeImages(t.local, madeLocal);
  });

  it('sends the lab busybox image and the host has the same image id', async () => {
    const ref = BASE;
    const sourceId = await imageId(t.local, ref);
    assert.ok(sourceId, `the lab image ${ref} is on the local engine`);
    await removeImages(t.remote, [ref]);
    const reports: number[] = [];
    // --full: other images on the shared lab host may hold the busybox layer too.
    const result = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: ref, full: true, progress: { report: (r) => r.completed !== undefined && reports.push(r.completed) } });
    assert.equal(result.imageId, sourceId);
    assert.equal(result.alreadyPresent, false);
    assert.equal(result.layersSkipped, 0);
    assert.equal(result.wireBytes, result.archiveBytes, 'uncompressed: the archive goes over the wire as is');
    assert.ok(result.archiveBytes > 1_000_000, `archive of ${result.archiveBytes} bytes`);
    assert.ok(reports.length > 0, 'progress was reported');
    assert.equal(await imageId(t.remote, ref), sourceId);
  });

  it('does nothing but tag when the host already has the image', async () => {
    const ref = BASE;
    const result = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: ref });
    assert.equal(result.alreadyPresent, true);
    assert.equal(result.wireBytes, 0);
  });

  it('compresses on the wire with --compress', async () => {
    const ref = BASE;
    await removeImages(t.remote, [ref]);
    const result = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: ref, compress: true, full: true });
    assert.equal(result.compressed, true);
    assert.ok(result.wireBytes < result.archiveBytes * 0.8, `${result.wireBytes} on the wire for ${result.archiveBytes} archive bytes`);
    assert.equal(await imageId(t.remote, ref), result.imageId);
  });

  it('sends only the layer the host lacks (v2 after v1) and the image id matches', async () => {
    madeLocal.push(V2, V1);
    madeRemote.push(V2, V1);
    await removeImages(t.remote, [V2, V1]);
    await buildRandomLayer(t, t.lab.images.busybox, V1, '/v1.bin', 2_000_000);
    const v2Id = await buildRandomLayer(t, V1, V2, '/v2.bin', TOP_LAYER_BYTES);
    const first = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: V1 });
    assert.equal(first.layers, 2);
    assert.equal(first.layersSkipped, 1, 'the busybox layer was already on the host (BASE)');
    const second = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: V2 });
    assert.equal(second.layers, 3);
    assert.equal(second.layersSkipped, 2);
    assert.equal(second.imageId, v2Id);
    assert.equal(await imageId(t.remote, V2), v2Id, 'the host has the very same image id');
    // The new layer as a tar: its files plus headers and padding.
    const history = JSON.parse((await t.local(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', V2])).trim()) as string[];
    assert.equal(history.length, 3);
    const newLayerBytes = TOP_LAYER_BYTES + 512 * 8;
    const tarOverhead = 64 * 1024; // json files, config, manifest, headers of the empty layers, end blocks
    assert.ok(second.wireBytes <= newLayerBytes * 1.05 + tarOverhead, `${second.wireBytes} bytes on the wire for a ${newLayerBytes}-byte layer`);
    assert.ok(second.archiveBytes > second.wireBytes + 2_000_000, 'the full archive was much larger');
    // The container sees the content of every layer, including the skipped ones.
    const out = await t.remote(['run', '--rm', '--network', 'none', V2, 'sh', '-c', 'wc -c < /v1.bin; wc -c < /v2.bin']);
    assert.deepEqual(out.trim().split(/\s+/), ['2000000', String(TOP_LAYER_BYTES)]);
  });

  it('--full sends every layer even when the host has them', async () => {
    await removeImages(t.remote, [V2]);
    const result = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: V2, full: true });
    assert.equal(result.layersSkipped, 0);
    assert.equal(result.wireBytes, result.archiveBytes);
    assert.equal(await imageId(t.remote, V2), result.imageId);
  });

  it('a cancelled send leaves no image, no tag and no temporary folder on the host', async () => {
    madeLocal.push(BIG);
    madeRemote.push(BIG);
    await removeImages(t.remote, [BIG]);
    const bigId = await buildRandomLayer(t, t.lab.images.busybox, BIG, '/big.bin', 40_000_000);
    const before = (await t.remote(['image', 'ls', '--all', '--quiet', '--no-trunc'])).trim().split('\n').sort();
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      sendImage({
        docker: t.docker,
        ssh: host.client,
        host: host.name,
        image: BIG,
        full: true,
        signal: controller.signal,
        progress: {
          report: (r) => {
            seen = r.completed ?? 0;
            if (seen > 0 && seen < 30_000_000) controller.abort();
          },
        },
      }),
      (error) => isWharfError(error, 'cancelled'),
    );
    assert.ok(seen > 0, 'it was cancelled mid-way, after bytes had flowed');
    assert.equal(await imageId(t.remote, BIG), undefined, 'no tag on the host');
    assert.equal(await imageId(t.remote, bigId), undefined, 'no image on the host');
    const afterIds = (await t.remote(['image', 'ls', '--all', '--quiet', '--no-trunc'])).trim().split('\n').sort();
    assert.deepEqual(afterIds, before, 'the host has the same images as before');
    // docker load unpacks into <data-root>/tmp and removes it on failure.
    const tmp = path.join(path.dirname(t.lab.docker.remote.socket), 'data', 'tmp');
    // The engine removes it after it answered the CLI, and another load on the shared host may have one
    // for a moment: wait for the folder to empty rather than read it once.
    let leftovers: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      leftovers = (await readdir(tmp).catch(() => [] as string[])).filter((name) => name.startsWith('docker-import'));
      if (leftovers.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(leftovers, [], 'no temporary folder left by docker load');
    // The connection still works for the next send.
    const again = await sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: BASE });
    assert.equal(again.alreadyPresent, true);
  });

  it('says "not found" for an image the local engine lacks', async () => {
    await assert.rejects(sendImage({ docker: t.docker, ssh: host.client, host: host.name, image: 'wharf-test/no-such-image:0' }), (error) => isWharfError(error, 'not-found') && /no such image/.test(error.message));
  });
});
