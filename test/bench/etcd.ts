/**
 * etcd Keys benchmark on the lab's three-member cluster, 100,000 keys under one prefix (a prefix of
 * this run, deleted afterwards):
 *  - the first tree level (paged, keys only), folder view and flat view, against
 *    `etcdctl get --prefix --keys-only` (which must fetch every key) timed in the same run;
 *  - a put made by another client → the watch event that refreshes the tree (median latency).
 * Medians of ≥ 3 runs; the table prints the machine, the peer's exact command line and ratios.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EtcdCluster } from '../../src/engines/etcd/cluster';
import { deletePrefix } from '../../src/engines/etcd/edit';
import { listLevel } from '../../src/engines/etcd/keyspace';
import { PrefixWatch } from '../../src/engines/etcd/watch';
import { fill } from '../engines/etcd/support';
import { ensureLab } from '../lab/lab';
import { execFileAsync, median, printBenchTable, timeRuns } from './support';

const KEYS = Number(process.env.WHARF_BENCH_ETCD_KEYS ?? 100_000);
const RUNS = 5;
const PAGE = 200;

async function main(): Promise<number> {
  const lab = (await ensureLab()).endpoints;
  const endpoints = lab.etcd.endpoints;
  const prefix = `/wharf-bench/${randomBytes(4).toString('hex')}/`;
  const cluster = await EtcdCluster.open({ name: 'lab', endpoints });
  const writer = await EtcdCluster.open({ name: 'lab-writer', endpoints });
  try {
    process.stderr.write(`filling ${KEYS} keys under ${prefix}…\n`);
    await fill(cluster, (index) => `${prefix}svc-${index % 10}/k${String(index).padStart(6, '0')}`, KEYS);

    process.stderr.write('timing the first level…\n');
    const folderView = await timeRuns(RUNS, () => listLevel(cluster, { prefix, separator: '/', limit: PAGE }));
    const flatView = await timeRuns(RUNS, () => listLevel(cluster, { prefix, separator: '/', limit: PAGE, flat: true }));
    const peerArgs = ['--endpoints', endpoints.join(','), 'get', '--prefix', '--keys-only', prefix];
    let peerKeys = 0;
    const peer = await timeRuns(RUNS, async () => {
      const { stdout } = await execFileAsync('etcdctl', peerArgs, { env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 256 * 1024 * 1024 });
      peerKeys = stdout.split('\n').filter(Boolean).length;
    });
    if (peerKeys !== KEYS) throw new Error(`etcdctl listed ${peerKeys} keys, expected ${KEYS}`);

    process.stderr.write('timing watch events…\n');
    // Watch latency: a put by another client until the event reaches the watcher.
    const latencies: number[] = [];
    let pending: { key: string; started: number; resolve: () => void } | undefined;
    const watch = new PrefixWatch(cluster, {
      prefix: `${prefix}live/`,
      onEvents(events) {
        if (pending && events.some((event) => event.key === pending!.key)) {
          latencies.push(performance.now() - pending.started);
          pending.resolve();
        }
      },
      onResync: async () => (await cluster.client.kv.range({ key: Buffer.from(prefix), count_only: true })).header.revision,
    });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (watch.revision !== undefined) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    for (let index = 0; index < 20; index++) {
      const key = `${prefix}live/${index}`;
      await new Promise<void>((resolve) => {
        pending = { key, started: performance.now(), resolve };
        void writer.client.put(key).value(String(index)).exec();
      });
    }
    watch.close();

    const met = printBenchTable(
      `etcd Keys: ${KEYS.toLocaleString('en')} keys under one prefix (3-member lab cluster)`,
      [
        { metric: 'first tree level (10 folders), median', wharf: median(folderView), peer: median(peer), unit: 'ms', peerCommand: `ETCDCTL_API=3 etcdctl ${peerArgs.join(' ')}`, target: { absolute: 300 } },
        { metric: `first page, flat view (${PAGE} keys), median`, wharf: median(flatView), peer: median(peer), unit: 'ms', peerCommand: `ETCDCTL_API=3 etcdctl ${peerArgs.join(' ')}`, target: { absolute: 300 } },
        { metric: 'put elsewhere → watch event, median of 20', wharf: median(latencies), unit: 'ms', target: { absolute: 100 } },
      ],
      [
        `runs: ${RUNS} each; wharf timings are in-process with a warm connection (as the tree has), etcdctl's include its process start`,
        `wharf folder view runs: ${folderView.map((value) => value.toFixed(1)).join(', ')} ms; etcdctl runs: ${peer.map((value) => value.toFixed(0)).join(', ')} ms`,
        'extension-host memory growth: npm run bench -- etcdMemory',
      ],
    );
    return met ? 0 : 1;
  } finally {
    await deletePrefix(cluster, prefix).catch(() => undefined);
    writer.close();
    cluster.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench etcd: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  },
);
