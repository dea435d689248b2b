import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { familiarReference, formatReference, parseReference, parseRepository, registryAddress } from '../../../src/engines/registry/reference';

const D = 'sha256:' + 'a'.repeat(64);

describe('image references', () => {
  const good: [string, Partial<ReturnType<typeof parseReference>>][] = [
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', explicitRegistry: false }],
    ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }],
    ['docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', explicitRegistry: true }],
    ['index.docker.io/team/app:2', { registry: 'docker.io', repository: 'team/app', tag: '2' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app', tag: 'latest' }],
    ['127.0.0.1:5000/team/app:1', { registry: '127.0.0.1:5000', repository: 'team/app', tag: '1', explicitRegistry: true }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['ghcr.io/org/sub/app:v1.2.3-rc.1', { registry: 'ghcr.io', repository: 'org/sub/app', tag: 'v1.2.3-rc.1' }],
    [`app@${D}`, { repository: 'library/app', tag: undefined, digest: D }],
    [`reg.example.com:443/a/b:t@${D}`, { registry: 'reg.example.com:443', repository: 'a/b', tag: 't', digest: D }],
    ['a__b/c-d.e', { repository: 'a__b/c-d.e' }],
  ];
  for (const [input, expected] of good) {
    it(`parses ${input}`, () => {
      const ref = parseReference(input);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual((ref as unknown as Record<string, unknown>)[key], value, key);
    });
  }

  const bad = ['', 'UPPER/case', 'app:', 'app:-tag', 'app@sha256:123', 'https://reg/app', 'a//b', 'app:has space', '/app', 'reg.example.com/', `app@sha256:${'A'.repeat(64)}`, 'a'.repeat(256), 'app:' + 't'.repeat(129)];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)} with a way out`, () => {
      assert.throws(
        () => parseReference(input),
        (error: unknown) => isWharfError(error, 'bad-input') && !!error.remedy && error.object.includes('image reference'),
      );
    });
  }

  it('formats full and familiar forms', () => {
    assert.equal(formatReference(parseReference('busybox')), 'docker.io/library/busybox:latest');
    assert.equal(familiarReference(parseReference('busybox')), 'busybox:latest');
    assert.equal(familiarReference(parseReference('127.0.0.1:5000/a/b:1')), '127.0.0.1:5000/a/b:1');
  });

  it('maps docker.io to its API host', () => {
    assert.equal(registryAddress('docker.io').baseUrl, 'https://registry-1.docker.io');
    assert.equal(registryAddress('127.0.0.1:5000').baseUrl, 'http://127.0.0.1:5000');
    assert.equal(registryAddress('ghcr.io').baseUrl, 'https://ghcr.io');
  });

  it('keeps repositories tag-free', () => {
    assert.deepEqual(parseRepository('127.0.0.1:5000/a/b'), { registry: '127.0.0.1:5000', repository: 'a/b' });
    assert.throws(() => parseRepository('127.0.0.1:5000/a/b:1'), (error: unknown) => isWharfError(error, 'bad-input'));
  });
});
