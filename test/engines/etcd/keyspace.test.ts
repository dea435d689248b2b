/** Paged, keys-only listing against the lab cluster, including 100,000 keys under one prefix. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countPrefix, listKeys, listLevel, prefixEnd, type LevelEntry } from '../../../src/engines/etcd/keyspace';
import { deletePrefix } from '../../../src/engines/etcd/edit';
import { fill, labCluster, type LabCluster } from './support';

describe('prefixEnd', () => {
  const cases: [string, number[]][] = [
    ['a', [0x62]],
    ['/app/', [0x2f, 0x61, 0x70, 0x70, 0x30]],
    ['', [0]],
  ];
  for (const [prefix, end] of cases) it(`"${prefix}" → ${end}`, () => assert.deepEqual([...prefixEnd(prefix)], end));
  it('drops trailing 0xff bytes', () => assert.deepEqual([...prefixEnd(Buffer.from([0x61, 0xff]))], [0x62]));
});

describe('etcd keyspace on the lab cluster', () => {
  let lab: LabCluster;
  const TOTAL = 100_000;
  before(async () => {
    lab = await labCluster('keyspace');
    const { cluster, prefix } = lab;
    // 100,000 keys: 99,990 in ten folders and 10 directly under the prefix.
    await fill(cluster, (index) => (index < 10 ? `${prefix}top-${index}` : `${prefix}svc-${index % 10}/k${String(index).padStart(6, '0')}`), TOTAL);
  });
  after(async () => {
    await lab?.cleanup();
  });

  it('holds 100,000 keys under the prefix (count only)', async () => {
    assert.equal((await countPrefix(lab.cluster, lab.prefix)).value, TOTAL);
  });

  it('lists the first tree level of 100,000 keys by paged keys-only ranges: ten folders and ten keys', async () => {
    const { cluster, prefix } = lab;
    const entries: LevelEntry[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listLevel(cluster, { prefix, separator: '/', limit: 100, cursor });
      entries.push(...page.entries);
      cursor = page.cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 1);
    assert.deepEqual(entries.filter((entry) => entry.kind === 'folder').map((entry) => entry.name), Array.from({ length: 10 }, (_, index) => `svc-${index}`));
    assert.deepEqual(entries.filter((entry) => entry.kind === 'key').map((entry) => entry.name), Array.from({ length: 10 }, (_, index) => `top-${index}`));
  });

  it('pages a level of 9,999 keys with "load more" cursors, each key once, in order', async () => {
    const { cluster, prefix } = lab;
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listLevel(cluster, { prefix: `${prefix}svc-3/`, separator: '/', limit: 500, cursor });
      assert.ok(page.entries.length <= 500);
      names.push(...page.entries.map((entry) => entry.name));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    assert.equal(names.length, 9999);
    assert.equal(new Set(names).size, 9999);
    assert.deepEqual(names, [...names].sort());
    assert.equal(pages, 20);
  });

  it('lists flat: every key under the prefix in pages, keys only', async () => {
    const { cluster, prefix } = lab;
    const first = await listLevel(cluster, { prefix, separator: '/', limit: 1000, flat: true });
    assert.equal(first.entries.length, 1000);
    assert.ok(first.entries.every((entry) => entry.kind === 'key'));
    assert.ok(first.cursor);
    const page = await listKeys(cluster, { prefix, limit: 1000 });
    assert.equal(page.keys.length, 1000);
    const next = await listKeys(cluster, { prefix, limit: 1000, cursor: page.cursor });
    assert.ok(next.keys[0] > page.keys[999]);
  });

  it('deletes a prefix and reports the count', async () => {
    const { cluster, prefix } = lab;
    assert.equal(await deletePrefix(cluster, `${prefix}svc-9/`), 9999);
    assert.equal((await countPrefix(cluster, prefix)).value, TOTAL - 9999);
  });
});

describe('a level whose folders share leading bytes (pieces cut along key bytes)', () => {
  it('pages folders and keys once each, in key order, for every page size', async () => {
    const lab = await labCluster('pieces');
    try {
      const names = ['svc-1', 'svc-1/a', 'svc-10/a', 'svc-10/b', 'svc-1x/a', 'svc-2/a', 'svc-', 'svc-/a', 'a', 'a/b/c', 'b\u00ff/x', 'z'];
      for (let index = 0; index < 40; index++) names.push(`svc-3/k${index}`, `f${String(index).padStart(2, '0')}/k`);
      await fill(lab.cluster, (index) => lab.prefix + names[index], names.length);
      // The level as sorted keys collapse into it: a folder per first segment, a key otherwise.
      const expected: string[] = [];
      for (const name of names.map((key) => Buffer.from(key)).sort(Buffer.compare).map(String)) {
        const at = name.indexOf('/');
        const entry = at < 0 ? `key ${name}` : `folder ${name.slice(0, at)}`;
        if (expected[expected.length - 1] !== entry) expected.push(entry);
      }
      for (const limit of [1, 3, 7, 100]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await listLevel(lab.cluster, { prefix: lab.prefix, separator: '/', limit, cursor });
          assert.ok(page.entries.length <= limit);
          seen.push(...page.entries.map((entry) => `${entry.kind} ${entry.name}`));
          cursor = page.cursor;
        } while (cursor);
        assert.deepEqual(seen, expected, `limit ${limit}`);
      }
    } finally {
      await lab.cleanup();
    }
  });
});

describe('the whole keyspace (empty prefix)', () => {
  it('lists, counts and pages from the start of the keyspace', async () => {
    const lab = await labCluster('root');
    try {
      await lab.cluster.client.put(`${lab.prefix}k`).value('v');
      const level = await listLevel(lab.cluster, { prefix: '', separator: '/', limit: 50 });
      assert.ok(level.entries.some((entry) => entry.kind === 'folder' && entry.path === '/'), JSON.stringify(level.entries));
      assert.ok((await countPrefix(lab.cluster, '')).value >= 1);
      assert.ok((await listKeys(lab.cluster, { prefix: '', limit: 5 })).keys.length >= 1);
    } finally {
      await lab.cleanup();
    }
  });
});
