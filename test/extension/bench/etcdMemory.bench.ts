/**
 * Bench (not a test): runs inside the real extension host when the bench asks for the `bench`
 * suite (test/bench/etcdMemory.ts fills the keys and reads the figures). It browses 100,000 keys
 * the way a user would: the first level, every folder, "Load more…" on each, the flat view, while
 * another client writes under the prefix (the watch refreshes the tree), and records the extension
 * host's memory before and after.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as vscode from 'vscode';
import type { EtcdFeature } from '../../../src/vscode/etcd/feature';
import type { EtcdNode } from '../../../src/vscode/etcd/tree';

const LOAD_MORE = 5;

/** A full collection before each reading, so garbage not yet collected does not count as growth. */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

suite('etcd tree memory (bench)', () => {
  test('browsing 100k keys: extension host memory growth', async function () {
    this.timeout(10 * 60_000);
    const prefix = process.env.WHARF_BENCH_PREFIX;
    const endpoints = process.env.WHARF_BENCH_ENDPOINTS?.split(',');
    const out = process.env.WHARF_BENCH_OUT;
    assert.ok(prefix && endpoints && out, 'run through `npm run bench -- etcdMemory`');
    const ext = vscode.extensions.getExtension('wharf.wharf');
    assert.ok(ext);
    await vscode.workspace.getConfiguration('wharf').update('etcd.clusters', [{ name: 'lab', endpoints }], vscode.ConfigurationTarget.Global);
    const feature = ((await ext.activate()) as { etcd: EtcdFeature }).etcd;
    const tree = feature.tree;
    try {
      const [cluster] = (await tree.getChildren()).filter((node) => node.type === 'cluster');
      assert.ok(cluster, 'the lab cluster is in the tree');
      await tree.getChildren(cluster); // connected, watch running: the baseline
      collect();
      const before = process.memoryUsage();

      await tree.setFilter('lab', prefix);
      let shown = 0;
      const folders = (await tree.getChildren(cluster)).filter((node): node is EtcdNode & { type: 'folder' } => node.type === 'folder');
      for (const folder of folders) {
        let children = await tree.getChildren(folder);
        for (let round = 0; round < LOAD_MORE; round++) {
          const more = children.find((node): node is EtcdNode & { type: 'more' } => node.type === 'more');
          if (!more) break;
          tree.loadMore(more);
          children = await tree.getChildren(folder);
        }
        shown += children.filter((node) => node.type === 'key').length;
      }
      await tree.setFlat(true);
      shown += (await tree.getChildren(cluster)).filter((node) => node.type === 'key').length;
      await tree.setFlat(false);
      // Let the watch deliver what the bench's writer put meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      collect();
      const after = process.memoryUsage();
      fs.writeFileSync(out, JSON.stringify({ before, after, folders: folders.length, shown }));
    } finally {
      await tree.setFilter('lab', '');
      await vscode.workspace.getConfiguration('wharf').update('etcd.clusters', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
