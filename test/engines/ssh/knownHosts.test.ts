import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addHostKey, checkHostKey, keyTypeOf } from '../../../src/engines/ssh/knownHosts';

/** An ed25519 public key in SSH wire format: string "ssh-ed25519", string key. */
function sshEd25519Key(): Buffer {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const field = (data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  return Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
}

describe('known_hosts', () => {
  let dir: string;
  const key = sshEd25519Key();
  const otherKey = sshEd25519Key();
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-kh-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads the key type from the wire format', () => assert.equal(keyTypeOf(key), 'ssh-ed25519'));

  it('trusts a plain entry, with the [host]:port form for other ports', async () => {
    const file = path.join(dir, 'plain');
    await writeFile(file, `# comment\nbuild-1,10.0.0.9 ssh-ed25519 ${key.toString('base64')}\n[10.0.0.9]:2222 ssh-ed25519 ${otherKey.toString('base64')}\n`);
    assert.deepEqual(await checkHostKey([file], 'build-1', 22, key), { kind: 'trusted' });
    assert.deepEqual(await checkHostKey([file], '10.0.0.9', 2222, otherKey), { kind: 'trusted' });
  });

  it('trusts a hashed entry', async () => {
    const file = path.join(dir, 'hashed');
    const salt = Buffer.from('0123456789abcdef0123');
    const hash = createHmac('sha1', salt).update('[gw.example]:2200').digest('base64');
    await writeFile(file, `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${key.toString('base64')}\n`);
    assert.deepEqual(await checkHostKey([file], 'gw.example', 2200, key), { kind: 'trusted' });
    assert.equal((await checkHostKey([file], 'gw.example', 22, key)).kind, 'unknown');
  });

  it('refuses a changed key and says where the old one is', async () => {
    const file = path.join(dir, 'changed');
    await writeFile(file, `\nbuild-1 ssh-ed25519 ${key.toString('base64')}\n`);
    const verdict = await checkHostKey([file], 'build-1', 22, otherKey);
    assert.equal(verdict.kind, 'changed');
    assert.equal(verdict.kind === 'changed' && verdict.line, 2);
  });

  it('treats a revoked key as changed even when it matches', async () => {
    const file = path.join(dir, 'revoked');
    await writeFile(file, `@revoked * ssh-ed25519 ${key.toString('base64')}\n`);
    assert.equal((await checkHostKey([file], 'anything', 22, key)).kind, 'changed');
  });

  it('records an accepted key hashed, and trusts it afterwards', async () => {
    const file = path.join(dir, 'sub', 'known_hosts');
    assert.equal((await checkHostKey([file], 'new-host', 2022, key)).kind, 'unknown');
    await addHostKey(file, 'new-host', 2022, key);
    assert.match(await readFile(file, 'utf8'), /^\|1\|[^ ]+ ssh-ed25519 /);
    assert.deepEqual(await checkHostKey([file], 'new-host', 2022, key), { kind: 'trusted' });
  });
});
