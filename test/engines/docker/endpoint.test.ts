import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { parseHost, resolveEndpoint } from '../../../src/engines/docker/endpoint';

describe('engine endpoints', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['unix:///var/run/docker.sock', { kind: 'unix', socketPath: '/var/run/docker.sock' }],
    ['/tmp/x.sock', { kind: 'unix', socketPath: '/tmp/x.sock' }],
    ['tcp://10.0.0.5:2375', { kind: 'tcp', host: '10.0.0.5', port: 2375, tls: undefined }],
    ['tcp://engine.example.com', { kind: 'tcp', host: 'engine.example.com', port: 2375 }],
    ['https://engine.example.com', { kind: 'tcp', port: 2376 }],
    ['ssh://deploy@build-1:2222', { kind: 'ssh', user: 'deploy', host: 'build-1', port: 2222 }],
    ['ssh://build-1', { kind: 'ssh', user: undefined, host: 'build-1', port: 22 }],
  ];
  for (const [input, expected] of cases) {
    it(`parses ${input}`, () => {
      const endpoint = parseHost(input) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(endpoint[key], value, key);
    });
  }

  for (const bad of ['ftp://x', 'tcp://', 'not a url', 'unix://']) {
    it(`rejects ${JSON.stringify(bad)} with a way out`, () => {
      assert.throws(
        () => parseHost(bad),
        (error: unknown) => isWharfError(error, 'bad-input') && /unix:\/\/\/path/.test(error.message),
      );
    });
  }

  it('takes TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const endpoint = await resolveEndpoint({ env: { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' } });
    assert.equal(endpoint.kind, 'tcp');
    assert.deepEqual(endpoint.kind === 'tcp' && endpoint.tls, { certDir: '/certs', verify: true });
  });

  describe('docker contexts', () => {
    let dir: string;
    after(() => rm(dir, { recursive: true, force: true }));

    it('follows currentContext and DOCKER_CONTEXT, with the flag winning over both', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-ctx-'));
      const addContext = async (name: string, host: string) => {
        const id = createHash('sha256').update(name).digest('hex');
        await mkdir(path.join(dir, 'contexts', 'meta', id), { recursive: true });
        await writeFile(path.join(dir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
      };
      await addContext('remote', 'tcp://remote.example:2376');
      await addContext('other', 'unix:///run/other.sock');
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ currentContext: 'remote' }));

      const current = await resolveEndpoint({ env: {}, dockerConfigDir: dir });
      assert.equal(current.kind, 'tcp');
      assert.match(current.label, /^remote \(tcp:\/\/remote.example:2376\)$/);
      assert.deepEqual(current.kind === 'tcp' && current.tls?.certDir, path.join(dir, 'contexts', 'tls', createHash('sha256').update('remote').digest('hex'), 'docker'));

      const fromEnv = await resolveEndpoint({ env: { DOCKER_CONTEXT: 'other' }, dockerConfigDir: dir });
      assert.deepEqual(fromEnv.kind === 'unix' && fromEnv.socketPath, '/run/other.sock');

      const fromFlag = await resolveEndpoint({ host: 'unix:///flag.sock', env: { DOCKER_HOST: 'tcp://x:1' }, dockerConfigDir: dir });
      assert.deepEqual(fromFlag.kind === 'unix' && fromFlag.socketPath, '/flag.sock');

      await assert.rejects(resolveEndpoint({ context: 'missing', env: {}, dockerConfigDir: dir }), (error: unknown) => isWharfError(error, 'not-found') && /docker context ls/.test(error.message));
    });

    it('falls back to the default socket', async () => {
      const endpoint = await resolveEndpoint({ env: {}, dockerConfigDir: path.join(os.tmpdir(), 'no-such-docker-dir') });
      assert.deepEqual(endpoint, { kind: 'unix', socketPath: '/var/run/docker.sock', label: 'unix:///var/run/docker.sock' });
    });
  });
});
