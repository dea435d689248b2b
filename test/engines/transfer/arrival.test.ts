import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { before, describe, it } from 'node:test';
import { ConfigWitness, parseLoaded } from '../../../src/engines/transfer/arrival';
import { saveStream } from '../../../src/engines/transfer/send';
import { TarFilter } from '../../../src/engines/transfer/tarStream';
import { imageId, transferLab, type TransferLab } from './helpers';

describe('proof of arrival from the archive and docker load output', () => {
  let t: TransferLab;
  let id: string;
  before(async () => {
    t = await transferLab();
    id = (await imageId(t.local, t.lab.images.busybox)) ?? '';
  });

  const watch = async (witness: ConfigWitness) => {
    const filter = new TarFilter({ emit: false, capture: witness.wants, onCaptured: witness.check });
    await pipeline(await saveStream(t.docker, t.lab.images.busybox), filter);
  };

  it('sees the config whose bytes hash to the image id, and accepts the tag or id docker load named', async () => {
    const witness = new ConfigWitness(id);
    await watch(witness);
    assert.equal(witness.seen, true);
    assert.equal(witness.proves(`Loaded image: ${t.lab.images.busybox}\n`, t.lab.images.busybox), true);
    assert.equal(witness.proves(`Loaded image ID: ${id}\n`, id), true);
    assert.equal(witness.proves('Loaded image: other:tag\n', t.lab.images.busybox), false, 'another name proves nothing');
    assert.equal(witness.proves('', t.lab.images.busybox), false);
  });

  it('proves nothing for another image id (the caller then asks the host)', async () => {
    const witness = new ConfigWitness(`sha256:${'0'.repeat(64)}`);
    await watch(witness);
    assert.equal(witness.seen, false);
    assert.deepEqual(parseLoaded('Loaded image: a:1\nLoaded image ID: sha256:ab\n'), ['a:1', 'sha256:ab']);
  });
});
