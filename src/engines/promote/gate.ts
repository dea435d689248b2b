/**
 * A gate must pass before anything is pushed: a command (argv, run with execFile, never a shell
 * string) that must exit 0, or an HTTP health check that must answer the expected status.
 */
import { execFile } from 'node:child_process';
import { WharfError, fromNetworkError, messageOf } from '../core/errors';

export interface Gate {
  /** argv: ["npm", "test"]. Runs in `cwd` with WHARF_SOURCE, WHARF_TARGET, WHARF_DIGEST set. */
  command?: string[];
  cwd?: string;
  /** A URL that must answer `expectStatus` (default: any 2xx). */
  http?: { url: string; expectStatus?: number };
  /** Milliseconds before the gate counts as failed (default 5 minutes). */
  timeoutMs?: number;
}

export interface GateContext {
  source: string;
  target: string;
  digest?: string;
  signal?: AbortSignal;
}

export function validateGate(gate: Gate, object: string): Gate {
  const bad = (cause: string) => new WharfError({ code: 'bad-input', object, cause, remedy: 'A gate is {"command": ["prog", "arg"]} or {"http": {"url": "http://...", "expectStatus": 200}}' });
  if (!gate.command && !gate.http) throw bad('a gate needs a command or an http check');
  if (gate.command && (!Array.isArray(gate.command) || !gate.command.length || gate.command.some((part) => typeof part !== 'string'))) throw bad('the command must be a non-empty array of strings (argv)');
  if (gate.http && !/^https?:\/\//.test(gate.http.url ?? '')) throw bad('the http check needs an http(s) url');
  return gate;
}

/** Resolves with a one-line description of what passed; throws a WharfError otherwise. */
export async function runGate(gate: Gate, context: GateContext): Promise<string> {
  const passed: string[] = [];
  if (gate.command) passed.push(await runCommand(gate, context));
  if (gate.http) passed.push(await checkHttp(gate, context));
  return passed.join('; ');
}

function runCommand(gate: Gate, context: GateContext): Promise<string> {
  const [program, ...args] = gate.command as string[];
  const shown = (gate.command as string[]).join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      {
        cwd: gate.cwd,
        timeout: gate.timeoutMs ?? 300_000,
        signal: context.signal,
        maxBuffer: 4 * 1024 * 1024,
        env: { ...process.env, WHARF_SOURCE: context.source, WHARF_TARGET: context.target, WHARF_DIGEST: context.digest ?? '' },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(`gate "${shown}" passed`);
        if (context.signal?.aborted) return reject(new WharfError({ code: 'cancelled', object: `gate "${shown}"`, cause: 'cancelled by the user' }));
        const tail = `${stderr}${stdout}`.trim().split('\n').slice(-3).join(' | ');
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          new WharfError({
            code: 'failed',
            object: `gate "${shown}"`,
            cause: code === 'ENOENT' ? `${program} not found` : `did not pass (exit ${(error as { code?: unknown }).code ?? messageOf(error)})${tail ? `: ${tail}` : ''}`,
            remedy: 'Nothing was pushed. Fix what the gate checks, then promote again',
          }),
        );
      },
    );
  });
}

async function checkHttp(gate: Gate, context: GateContext): Promise<string> {
  const { url, expectStatus } = gate.http as { url: string; expectStatus?: number };
  const timeout = AbortSignal.timeout(gate.timeoutMs ?? 30_000);
  const signal = context.signal ? AbortSignal.any([context.signal, timeout]) : timeout;
  let status: number;
  try {
    const response = await fetch(url, { signal });
    status = response.status;
    await response.body?.cancel();
  } catch (error) {
    if (context.signal?.aborted) throw new WharfError({ code: 'cancelled', object: `health check ${url}`, cause: 'cancelled by the user' });
    throw fromNetworkError((error as { cause?: unknown }).cause ?? error, `health check ${url}`, 'Nothing was pushed. Start the service the gate checks, then promote again');
  }
  const ok = expectStatus ? status === expectStatus : status >= 200 && status < 300;
  if (!ok) {
    throw new WharfError({ code: 'failed', object: `health check ${url}`, cause: `answered ${status}, expected ${expectStatus ?? '2xx'}`, remedy: 'Nothing was pushed. Fix the service, then promote again' });
  }
  return `health check ${url} answered ${status}`;
}
