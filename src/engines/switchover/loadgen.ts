/**
 * A bounded load generator for proving "zero failed requests": N concurrent clients, each on its
 * own keep-alive connection, sending GETs back to back. Counts 2xx, non-2xx and connection errors
 * (a "failure" is either of the last two), and which body answered (the app version), in order.
 * Stops by itself after a request count or a duration, or when the signal fires; memory stays
 * bounded (counts per distinct body, capped at 32 bodies, plus the last bodies seen).
 */
import http from 'node:http';

export interface LoadOptions {
  url: string;
  /** Concurrent keep-alive clients (default 50). */
  clients?: number;
  /** Stop after this many requests (across all clients). */
  requests?: number;
  /** Stop after this long. */
  durationMs?: number;
  /** Pause between a client's requests, to run at a rate the baseline serves with no failure. */
  pauseMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LoadReport {
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  /** non2xx + errors */
  failed: number;
  /** Body (trimmed, first 40 chars) → count. */
  versions: Record<string, number>;
  /** Distinct bodies in the order they first appeared. */
  order: string[];
  /** The last bodies seen (up to 200), oldest first. */
  tail: string[];
  /** Error messages → count (e.g. ECONNRESET). */
  errorKinds: Record<string, number>;
  elapsedMs: number;
  ratePerSecond: number;
}

export interface LoadRun {
  /** Live counters, readable while it runs. */
  readonly report: LoadReport;
  /** Resolves with the final report when every client has stopped. */
  done: Promise<LoadReport>;
  stop(): void;
}

const label = (body: string) => body.trim().slice(0, 40);

export function startLoad(options: LoadOptions): LoadRun {
  const clients = options.clients ?? 50;
  const report: LoadReport = { requests: 0, ok2xx: 0, non2xx: 0, errors: 0, failed: 0, versions: {}, order: [], tail: [], errorKinds: {}, elapsedMs: 0, ratePerSecond: 0 };
  const started = Date.now();
  let stopped = false;
  let issued = 0;
  const stop = () => {
    stopped = true;
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const url = new URL(options.url);

  const record = (body: string | undefined, status: number | undefined, error?: Error) => {
    report.requests++;
    if (error) {
      report.errors++;
      const kind = (error as NodeJS.ErrnoException).code ?? error.message.slice(0, 40);
      report.errorKinds[kind] = (report.errorKinds[kind] ?? 0) + 1;
    } else if (status !== undefined && status >= 200 && status < 300) {
      report.ok2xx++;
      const key = label(body ?? '');
      if (report.versions[key] === undefined && report.order.length < 32) {
        report.order.push(key);
        report.versions[key] = 0;
      }
      if (report.versions[key] !== undefined) report.versions[key]++;
      report.tail.push(key);
      if (report.tail.length > 200) report.tail.shift();
    } else {
      report.non2xx++;
      const kind = `HTTP ${status}`;
      report.errorKinds[kind] = (report.errorKinds[kind] ?? 0) + 1;
    }
    report.failed = report.non2xx + report.errors;
  };

  const one = (agent: http.Agent) =>
    new Promise<void>((resolve) => {
      const request = http.get({ host: url.hostname, port: url.port, path: url.pathname + url.search, agent, timeout: options.timeoutMs ?? 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          if (chunks.length < 4) chunks.push(chunk);
        });
        response.on('end', () => {
          record(Buffer.concat(chunks).toString('utf8'), response.statusCode);
          resolve();
        });
        response.on('error', (error) => {
          record(undefined, undefined, error);
          resolve();
        });
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      request.on('error', (error) => {
        record(undefined, undefined, error);
        resolve();
      });
    });

  const client = async () => {
    // One socket per client: a keep-alive connection reused for every request, as browsers and
    // service clients do; this is what a reload can break.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (!stopped && Date.now() < deadline && (options.requests === undefined || issued < options.requests)) {
        issued++;
        await one(agent);
        if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      }
    } finally {
      agent.destroy();
    }
  };

  const done = Promise.all(Array.from({ length: clients }, client)).then(() => {
    options.signal?.removeEventListener('abort', stop);
    report.elapsedMs = Date.now() - started;
    report.ratePerSecond = Math.round((report.requests * 1000) / Math.max(1, report.elapsedMs));
    return report;
  });
  return { report, done, stop };
}

/** Runs to completion (count or duration) and returns the report. */
export function runLoad(options: LoadOptions): Promise<LoadReport> {
  if (options.requests === undefined && options.durationMs === undefined && !options.signal) {
    throw new Error('a load run needs a request count, a duration or a signal to stop');
  }
  return startLoad(options).done;
}
