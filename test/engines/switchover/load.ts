/** Runs an action in the middle of a load run: warm-up, the action, then enough requests after it. */
import { startLoad, type LoadReport } from '../../../src/engines/switchover/loadgen';
import { sleep } from '../../../src/engines/switchover/http';

export interface UnderLoad<T> {
  report: LoadReport;
  result: T;
  /** Requests sent before the action started and after it ended. */
  before: number;
  after: number;
}

export async function underLoad<T>(url: string, action: () => Promise<T>, o: { clients?: number; total?: number; warmup?: number; tail?: number } = {}): Promise<UnderLoad<T>> {
  const total = o.total ?? 20_000;
  const run = startLoad({ url, clients: o.clients ?? 50, durationMs: 240_000 });
  try {
    while (run.report.requests < (o.warmup ?? 2000)) await sleep(20);
    const before = run.report.requests;
    const result = await action();
    const endedAt = run.report.requests;
    while (run.report.requests < Math.max(total, endedAt + (o.tail ?? 2000))) await sleep(20);
    run.stop();
    const report = await run.done;
    return { report, result, before, after: report.requests - endedAt };
  } finally {
    run.stop();
    await run.done;
  }
}
