/**
 * Switchover benchmark on the lab: busybox httpd v1 → v2 while a load generator (50 concurrent
 * keep-alive clients on loopback, ≥ 20,000 requests) runs across the switch. Strategies, measured
 * in the same run, 3 runs each (median and max of the failures):
 *  - baseline: the same load with no switchover (shows the rate is one the setup serves with 0 failures);
 *  - Wharf: HAProxy changed at runtime through its API by `wharf confd` (no reload);
 *  - the book's confd-style path: nginx upstream file rendered, `nginx -t`, reloaded on each change;
 *  - naive recreate: stop the old container, start the new one, point the key at it.
 * A failure is any non-2xx answer or connection error. Exit 1 when Wharf or the baseline fails one.
 */
import { naiveRecreate } from '../../src/engines/switchover/naive';
import { runSwitchover } from '../../src/engines/switchover/run';
import { underLoad } from '../engines/switchover/load';
import { setupScenario, type Scenario } from '../engines/switchover/support';
import { median, machineLine } from './support';

const RUNS = Number(process.env.WHARF_BENCH_RUNS ?? 3);
const TOTAL = 20_000;
const CLIENTS = 50;

interface Strategy {
  name: string;
  proxy: 'haproxy' | 'nginx';
  command: string;
  act(s: Scenario): Promise<void>;
}

const strategies: Strategy[] = [
  { name: 'baseline (no switchover)', proxy: 'haproxy', command: '-', act: async () => undefined },
  {
    name: 'Wharf: HAProxy runtime API',
    proxy: 'haproxy',
    command: 'wharf confd --haproxy-socket S --backend app; wharf switchover PLAN.json',
    act: async (s) => {
      const result = await runSwitchover(s.plan, s);
      if (!result.ok) throw new Error(`switchover failed at ${result.failedStep}: ${result.error?.message}`);
    },
  },
  {
    name: 'confd-style nginx render + reload',
    proxy: 'nginx',
    command: 'render upstream → nginx -t -c nginx.conf → mv → nginx -s reload (same switchover steps)',
    act: async (s) => {
      const result = await runSwitchover(s.plan, s);
      if (!result.ok) throw new Error(`switchover failed at ${result.failedStep}: ${result.error?.message}`);
    },
  },
  {
    name: 'naive recreate',
    proxy: 'haproxy',
    command: 'docker stop OLD; docker run NEW; etcdctl put KEY NEW_ADDR',
    act: async (s) => {
      await naiveRecreate(s.plan, s);
    },
  },
];

interface Row {
  strategy: string;
  requests: number;
  failedMedian: number;
  failedMax: number;
  non2xx: number;
  errors: number;
  rate: number;
  moved: string;
  command: string;
}

async function main(): Promise<number> {
  const rows: Row[] = [];
  for (const strategy of strategies) {
    const failed: number[] = [];
    const requests: number[] = [];
    const non2xx: number[] = [];
    const errors: number[] = [];
    const rates: number[] = [];
    let moved = 0;
    for (let run = 0; run < RUNS; run++) {
      const s = await setupScenario(`bench${run}`, { proxy: strategy.proxy });
      try {
        process.stderr.write(`${strategy.name}: run ${run + 1}/${RUNS}…\n`);
        const { report } = await underLoad(s.proxyUrl, () => strategy.act(s), { clients: CLIENTS, total: TOTAL });
        failed.push(report.failed);
        requests.push(report.requests);
        non2xx.push(report.non2xx);
        errors.push(report.errors);
        rates.push(report.ratePerSecond);
        if (report.order.join(',') === 'v1,v2' && report.tail.every((body) => body === 'v2')) moved++;
        process.stderr.write(`  ${report.requests} requests, ${report.non2xx} non-2xx, ${report.errors} errors ${JSON.stringify(report.errorKinds)}, ${report.ratePerSecond}/s\n`);
      } finally {
        await s.cleanup();
      }
    }
    rows.push({
      strategy: strategy.name,
      requests: median(requests),
      failedMedian: median(failed),
      failedMax: Math.max(...failed),
      non2xx: median(non2xx),
      errors: median(errors),
      rate: median(rates),
      moved: strategy.name.startsWith('baseline') ? '-' : `${moved}/${RUNS}`,
      command: strategy.command,
    });
  }
  const header = ['strategy', 'requests', 'failed (median)', 'failed (max)', 'non-2xx', 'conn errors', 'req/s', 'v1→v2', 'command'];
  const cells = rows.map((r) => [r.strategy, String(r.requests), String(r.failedMedian), String(r.failedMax), String(r.non2xx), String(r.errors), String(r.rate), r.moved, r.command]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i]))).join(' | ');
  process.stdout.write(`\n## Switchover under load: ${CLIENTS} keep-alive clients, ≥ ${TOTAL} requests per run, ${RUNS} runs each (medians; failed = non-2xx + connection errors)\nmachine: ${machineLine()}\n\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
  const wharf = rows.find((r) => r.strategy.startsWith('Wharf'))!;
  const baseline = rows.find((r) => r.strategy.startsWith('baseline'))!;
  const ok = wharf.failedMax === 0 && baseline.failedMax === 0 && wharf.moved === `${RUNS}/${RUNS}`;
  process.stdout.write(`note: target: Wharf 0 failed in every run at a rate where the baseline also shows 0 → ${ok ? 'met' : 'MISSED'}\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
