/**
 * etcd Keys memory: 100,000 keys under one prefix (10 folders) on the lab cluster, browsed inside
 * the real extension host by test/extension/bench/etcdMemory.bench.ts (every folder, "Load more…"
 * five times each, the flat view) while this script keeps writing under the prefix so the watch
 * refreshes the tree. Prints the extension host's RSS and heap growth against the 50 MB.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EtcdCluster } from '../../src/engines/etcd/cluster';
import { deletePrefix } from '../../src/engines/etcd/edit';
import { fill } from '../engines/etcd/support';
import { ensureLab } from '../lab/lab';
import { printBenchTable } from './support';

const KEYS = Number(process.env.WHARF_BENCH_ETCD_KEYS ?? 100_000);
const MB = 1024 * 1024;

interface Figures {
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  folders: number;
  shown: number;
}

async function main(): Promise<number> {
  const lab = (await ensureLab()).endpoints;
  const endpoints = lab.etcd.endpoints;
  const prefix = `/wharf-bench-mem/${randomBytes(4).toString('hex')}/`;
  const cluster = await EtcdCluster.open({ name: 'lab', endpoints });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-bench-mem-'));
  const out = path.join(dir, 'figures.json');
  let writes = 0;
  let writer: NodeJS.Timeout | undefined;
  try {
    process.stderr.write(`filling ${KEYS} keys under ${prefix}…\n`);
    await fill(cluster, (index) => `${prefix}svc-${index % 10}/k${String(index).padStart(6, '0')}`, KEYS);
    // Changes made elsewhere while the tree is open: the watch must not make memory grow either.
    writer = setInterval(() => {
      writes++;
      void cluster.client.put(`${prefix}svc-${writes % 10}/live-${writes % 50}`).value(String(writes)).exec().catch(() => undefined);
    }, 20);
    const runner = path.resolve(__dirname, '..', 'extension', 'runTests.js');
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [runner], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, WHARF_EXTENSION_SUITE: 'bench', WHARF_BENCH_PREFIX: prefix, WHARF_BENCH_ENDPOINTS: endpoints.join(','), WHARF_BENCH_OUT: out },
      });
      child.on('exit', (exit) => resolve(exit ?? 1));
    });
    clearInterval(writer);
    if (code !== 0) throw new Error(`the extension-host bench suite failed (exit ${code})`);
    const figures = JSON.parse(await readFile(out, 'utf8')) as Figures;
    const rss = (figures.after.rss - figures.before.rss) / MB;
    const heap = (figures.after.heapUsed - figures.before.heapUsed) / MB;
    const met = printBenchTable(
      `etcd Keys: extension host memory while browsing ${KEYS.toLocaleString('en')} keys (real VS Code extension host)`,
      [
        { metric: 'extension host RSS growth', wharf: rss, unit: 'MB', target: { absolute: 50 } },
        { metric: 'extension host JS heap growth', wharf: heap, unit: 'MB', target: { absolute: 50 } },
      ],
      [
        `browsed: the first level (${figures.folders} folders), each folder with "Load more…" 5 times, the flat view; ${figures.shown} keys shown in all; ${writes} puts under the prefix meanwhile (watched)`,
        `RSS ${(figures.before.rss / MB).toFixed(0)} → ${(figures.after.rss / MB).toFixed(0)} MB; heap used ${(figures.before.heapUsed / MB).toFixed(0)} → ${(figures.after.heapUsed / MB).toFixed(0)} MB, committed ${(figures.before.heapTotal / MB).toFixed(0)} → ${(figures.after.heapTotal / MB).toFixed(0)} MB; external ${(figures.before.external / MB).toFixed(0)} → ${(figures.after.external / MB).toFixed(0)} MB (each read after a full GC)`,
      ],
    );
    return met ? 0 : 1;
  } finally {
    if (writer) clearInterval(writer);
    await deletePrefix(cluster, prefix).catch(() => undefined);
    cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench etcdMemory: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  },
);
