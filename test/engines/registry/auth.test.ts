import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { parseChallenge } from '../../../src/engines/registry/auth';
import { RegistryClient } from '../../../src/engines/registry/client';
import { dockerConfigCredentials, staticCredentials } from '../../../src/engines/registry/credentials';
import { pushSyntheticImage, startBasicAuthRegistry, startTokenAuthRegistry, type OwnRegistry, type TokenIssuer } from './fixtures';

describe('WWW-Authenticate parsing', () => {
  it('reads a bearer challenge with quoted, comma-holding values', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'), {
      scheme: 'bearer',
      realm: 'https://auth.example.com/token',
      service: 'registry.example.com',
      scope: 'repository:a/b:pull,push',
      error: undefined,
    });
    assert.equal(parseChallenge('Basic realm="x"')?.scheme, 'basic');
    assert.equal(parseChallenge('Negotiate'), undefined);
    assert.equal(parseChallenge(null), undefined);
  });
});

describe('basic auth against a real docker-registry with htpasswd', () => {
  let registry: OwnRegistry;
  before(async () => {
    registry = await startBasicAuthRegistry('alice', 's3cret');
  });
  after(() => registry?.stop());

  it('works with the right password', async () => {
    const client = new RegistryClient({ registry: registry.address, credentials: staticCredentials({ [registry.address]: { username: 'alice', password: 's3cret' } }) });
    await client.ping();
    const image = await pushSyntheticImage(client, 'team/app', '1');
    assert.equal((await client.getManifest('team/app', '1')).digest, image.digest);
    assert.deepEqual(await RegistryClient.collect(client.catalog()), ['team/app']);
  });

  it('says 401 and how to sign in without credentials or with a wrong password', async () => {
    for (const credentials of [undefined, staticCredentials({ [registry.address]: { username: 'alice', password: 'wrong' } })]) {
      const client = new RegistryClient({ registry: registry.address, credentials });
      await assert.rejects(client.getManifest('team/app', '1'), (error: unknown) => {
        assert.ok(isWharfError(error, 'unauthorized'), String(error));
        assert.match(error.message, /401/);
        assert.match(error.remedy ?? '', /docker login/);
        assert.ok(!error.message.includes('wrong'), 'the password is never in a message');
        return true;
      });
    }
  });

  it('reads credentials from a docker config.json (auths) and from a credential helper', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-dockercfg-'));
    try {
      const auth = Buffer.from('alice:s3cret').toString('base64');
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { [`http://${registry.address}`]: { auth } } }));
      const fromAuths = new RegistryClient({ registry: registry.address, credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: dir, PATH: process.env.PATH } }) });
      assert.deepEqual(await RegistryClient.collect(fromAuths.tags('team/app')), ['1']);

      // A credential helper: docker-credential-<name> get, server URL on stdin, JSON on stdout.
      const bin = path.join(dir, 'bin');
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { [registry.address]: 'wharftest' } }));
      await import('node:fs/promises').then((fs) => fs.mkdir(bin));
      const helper = path.join(bin, 'docker-credential-wharftest');
      await writeFile(helper, `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${registry.address}" ]; then printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`);
      await chmod(helper, 0o755);
      const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };
      const fromHelper = new RegistryClient({ registry: registry.address, credentials: dockerConfigCredentials({ env }) });
      assert.deepEqual(await RegistryClient.collect(fromHelper.tags('team/app')), ['1']);
      assert.equal(await dockerConfigCredentials({ env })('other.example.com'), undefined);

      // A helper that is not installed: a clear error naming it.
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'not-installed-here' }));
      await assert.rejects(dockerConfigCredentials({ env })(registry.address), /docker-credential-not-installed-here: not found on PATH/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('token auth against a real docker-registry (auth.token) and a token issuer here', () => {
  let issuer: TokenIssuer;
  before(async () => {
    issuer = await startTokenAuthRegistry({ bob: 'tok3n', reader: 'read' }, 'reader');
  });
  after(() => issuer?.stop());

  it('gets a token per scope, caches it, and pushes and reads', async () => {
    const address = issuer.registry.address;
    const client = new RegistryClient({ registry: address, credentials: staticCredentials({ [address]: { username: 'bob', password: 'tok3n' } }) });
    const image = await pushSyntheticImage(client, 'team/app', '1', { layers: 3 });
    const before = issuer.requests.length;
    for (let i = 0; i < 5; i++) assert.equal((await client.getManifest('team/app', '1')).digest, image.digest);
    const pullTokens = issuer.requests.slice(before).filter((request) => request.scopes.join(' ') === 'repository:team/app:pull');
    assert.equal(pullTokens.length, 1, 'one token for five reads of the same scope');
    assert.ok(issuer.requests.every((request) => request.account === 'bob'));
    assert.deepEqual(await RegistryClient.collect(client.tags('team/app')), ['1']);
  });

  it('mounts across repositories with a token covering both (pull on the source)', async () => {
    const address = issuer.registry.address;
    const client = new RegistryClient({ registry: address, credentials: staticCredentials({ [address]: { username: 'bob', password: 'tok3n' } }) });
    const image = await pushSyntheticImage(client, 'team/src', '1', { layers: 1 });
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(image.layers[0]).digest('hex')}`;
    assert.deepEqual(await client.mountBlob('team/dst', digest, 'team/src'), { mounted: true });
    assert.ok(issuer.requests.some((request) => request.scopes.includes('repository:team/src:pull') && request.scopes.includes('repository:team/dst:pull,push')));
  });

  it('a refused token request says so; a read-only account is denied a push', async () => {
    const address = issuer.registry.address;
    const wrong = new RegistryClient({ registry: address, credentials: staticCredentials({ [address]: { username: 'bob', password: 'nope' } }) });
    await assert.rejects(wrong.getManifest('team/app', '1'), (error: unknown) => isWharfError(error, 'unauthorized') && /token service .* refused/.test(error.message));
    const anonymous = new RegistryClient({ registry: address });
    await assert.rejects(anonymous.getManifest('team/app', '1'), (error: unknown) => isWharfError(error, 'unauthorized') && /docker login/.test(error.remedy ?? ''));
    const reader = new RegistryClient({ registry: address, credentials: staticCredentials({ [address]: { username: 'reader', password: 'read' } }) });
    assert.ok((await reader.getManifest('team/app', '1')).digest.startsWith('sha256:'));
    await assert.rejects(reader.startUpload('team/app'), (error: unknown) => isWharfError(error) && ['unauthorized', 'forbidden'].includes(error.code));
  });
});
