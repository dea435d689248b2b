import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { RegistryClient, parseNextLink, sha256 } from '../../../src/engines/registry/client';
import { RegistryError } from '../../../src/engines/registry/errors';
import { parseReference } from '../../../src/engines/registry/reference';
import type { LabEndpoints } from '../../lab/lab';
import { freePort, lab, pushSyntheticImage, unique } from './fixtures';

describe('registry client against the lab registry', () => {
  let e: LabEndpoints;
  let client: RegistryClient;
  const repo = `wharf-test/client-${unique()}`;
  before(async () => {
    e = await lab();
    client = new RegistryClient({ registry: e.registries.test.address });
    await client.ping();
  });

  it('pushes an image through the API and reads it back byte for byte', async () => {
    const image = await pushSyntheticImage(client, repo, '1', { layers: 2 });
    const read = await client.getManifest(repo, '1');
    assert.equal(read.digest, image.digest);
    assert.ok(read.bytes.equals(image.manifest));
    assert.equal(read.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const head = await client.headManifest(repo, '1');
    assert.equal(head?.digest, image.digest);
    assert.equal(await client.headBlob(repo, sha256(image.layers[0])), image.layers[0].length);
    const { stream } = await client.getBlob(repo, sha256(image.layers[1]));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(image.layers[1]));
  });

  it('lists the repository in the catalog and its tags', async () => {
    const repos = await RegistryClient.collect(client.catalog({ pageSize: 1000 }));
    assert.ok(repos.includes(repo), `catalog has ${repo}`);
    assert.ok(repos.includes('lab/busybox'));
    const tags = await RegistryClient.collect(client.tags(repo));
    assert.deepEqual(tags.sort(), ['1']);
  });

  it('lists 2,000 tags (this Distribution answers them all in one page)', async () => {
    const big = `${repo}-many`;
    const image = await pushSyntheticImage(client, big, 't0', { layers: 1, layerSize: 16 });
    const tags = Array.from({ length: 2000 }, (_, i) => `t${i}`);
    for (let i = 1; i < tags.length; i += 50) {
      await Promise.all(tags.slice(i, i + 50).map((tag) => client.putManifest(big, tag, image.manifest, 'application/vnd.oci.image.manifest.v1+json')));
    }
    let pages = 0;
    let count = 0;
    for await (const page of client.tags(big)) {
      pages++;
      count += page.length;
    }
    assert.equal(count, 2000);
    assert.ok(pages >= 1);
  });

  it('mounts a blob from another repository (201) and reports a fallback upload (202) for one it does not have', async () => {
    const image = await pushSyntheticImage(client, `${repo}-src`, '1', { layers: 1 });
    const mounted = await client.mountBlob(`${repo}-dst`, sha256(image.layers[0]), `${repo}-src`);
    assert.deepEqual(mounted, { mounted: true });
    assert.equal(await client.headBlob(`${repo}-dst`, sha256(image.layers[0])), image.layers[0].length);
    const missing = sha256(Buffer.from(unique()));
    const fallback = await client.mountBlob(`${repo}-dst`, missing, `${repo}-src`);
    assert.equal(fallback.mounted, false);
    if (!fallback.mounted) await client.cancelUpload(`${repo}-dst`, fallback.location);
  });

  it('deletes a tag by its digest (Distribution 2.8 deletes manifests, not tags)', async () => {
    const image = await pushSyntheticImage(client, `${repo}-del`, 'gone', { layers: 1 });
    const result = await client.deleteTag(`${repo}-del`, 'gone');
    assert.equal(result.digest, image.digest);
    assert.equal(await client.headManifest(`${repo}-del`, 'gone'), undefined);
  });

  it('refuses a blob whose bytes do not match the digest', async () => {
    const wrong = sha256(Buffer.from('something else'));
    await assert.rejects(client.uploadBlob(repo, wrong, Readable.from([Buffer.from('these bytes')])), (error: unknown) => error instanceof RegistryError && error.status === 400);
  });

  describe('bad inputs', () => {
    const cases: [string, () => Promise<unknown>, string, RegExp][] = [
      ['missing tag', () => client.getManifest(repo, 'no-such-tag'), 'not-found', /wrong reference/],
      ['404 repository', () => client.getManifest(`${repo}-nothing-here`, '1'), 'not-found', /not found/],
      ['tags of a 404 repository', () => RegistryClient.collect(client.tags(`${repo}-nothing-here`)), 'not-found', /list tags/],
      ['unknown digest', () => client.getManifest(repo, `sha256:${'0'.repeat(64)}`), 'not-found', /404/],
      ['unreachable registry', async () => new RegistryClient({ registry: `127.0.0.1:${await freePort()}` }).ping(), 'unreachable', /connection refused/],
      ['invalid reference', async () => parseReference('Bad/Name:1'), 'bad-input', /lowercase/],
      ['invalid tag', async () => parseReference(`${e.registries.test.address}/a/b:-x`), 'bad-input', /not a valid tag/],
    ];
    for (const [name, call, code, message] of cases) {
      it(`${name} → ${code}`, async () => {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(isWharfError(error), `a WharfError, got ${String(error)}`);
          assert.equal(error.code, code, error.message);
          assert.match(error.message, message);
          assert.ok(error.remedy, 'says what to do');
          return true;
        });
      });
    }
    it('a missing tag says which one and offers the way out', async () => {
      await assert.rejects(client.headManifest(repo, 'nope').then((head) => {
        if (!head) throw new Error('undefined means not found');
      }), /not found/);
    });
  });
});

describe('Link paging (in-process fixture: Distribution 2.8 ignores n/last)', () => {
  let server: http.Server;
  let address: string;
  const requests: string[] = [];
  const all = Array.from({ length: 25 }, (_, i) => `repo${String(i).padStart(2, '0')}`);
  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(url.pathname + url.search);
      if (url.pathname === '/v2/_catalog' || url.pathname === '/v2/loop/tags/list') {
        const n = Number(url.searchParams.get('n') ?? 100);
        const last = url.searchParams.get('last');
        const start = last ? all.indexOf(last) + 1 : 0;
        const page = all.slice(start, start + n);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (url.pathname === '/v2/loop/tags/list') headers.link = `</v2/loop/tags/list?n=${n}>; rel="next"`; // points back at itself
        else if (start + n < all.length) headers.link = `</v2/_catalog?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
        res.writeHead(200, headers);
        res.end(JSON.stringify(url.pathname === '/v2/_catalog' ? { repositories: page } : { name: 'loop', tags: page }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('follows Link page by page, lazily', async () => {
    const client = new RegistryClient({ registry: address });
    requests.length = 0;
    const pages: string[][] = [];
    for await (const page of client.catalog({ pageSize: 10 })) pages.push(page);
    assert.deepEqual(pages.map((page) => page.length), [10, 10, 5]);
    assert.deepEqual(pages.flat(), all);
    assert.equal(requests.length, 3);
    requests.length = 0;
    for await (const page of client.catalog({ pageSize: 10 })) {
      assert.equal(page.length, 10);
      break;
    }
    assert.equal(requests.length, 1, 'stopping after the first page reads only that page');
  });

  it('stops when Link points back at a page already read', async () => {
    const client = new RegistryClient({ registry: address });
    requests.length = 0;
    const tags = await RegistryClient.collect(client.tags('loop', { pageSize: 5 }));
    assert.equal(tags.length, 5);
    assert.equal(requests.length, 1);
  });

  it('parses Link headers', () => {
    assert.equal(parseNextLink('</v2/_catalog?n=2&last=b>; rel="next"'), '/v2/_catalog?n=2&last=b');
    assert.equal(parseNextLink('<https://x/a>; rel="prev", <https://x/b>; rel=next'), 'https://x/b');
    assert.equal(parseNextLink(null), undefined);
  });
});

describe('rate limits', () => {
  it('waits out a 429 on reads, says so, then fails with the retry time when it persists', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const waits: number[] = [];
      const client = new RegistryClient({ registry: `127.0.0.1:${(server.address() as AddressInfo).port}`, rateLimitRetries: 1, onWait: (seconds) => waits.push(seconds) });
      await assert.rejects(client.getManifest('a/b', '1'), (error: unknown) => {
        assert.ok(error instanceof RegistryError);
        assert.equal(error.code, 'rate-limited');
        assert.equal(error.retryAfter, 1);
        assert.match(error.message, /retry after 1 s/);
        return true;
      });
      assert.deepEqual(waits, [1]);
      assert.equal(hits, 2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
