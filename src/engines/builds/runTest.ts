/**
 * Runs a test command in a built image, like `docker run --rm IMAGE CMD...`: the command goes as argv
 * (no shell), the image's ENTRYPOINT stays, the exit code decides. Output is streamed (demultiplexed:
 * a non-TTY attach carries 8-byte frame headers) to the caller line by line.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { WharfError, fromNetworkError } from '../core/errors';

export interface TestRun {
  exitCode: number;
  /** Set when the test was stopped for running too long. */
  timedOut: boolean;
}

export interface TestOptions {
  signal?: AbortSignal;
  /** Default 10 minutes. */
  timeoutMs?: number;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  labels?: Record<string, string>;
}

export async function runTestInImage(docker: Docker, image: string, argv: string[], options: TestOptions = {}): Promise<TestRun> {
  if (!argv.length) throw new WharfError({ code: 'bad-input', object: 'test command', cause: 'is empty', remedy: 'Give a command, e.g. --test "sh -c \'./run-tests\'"' });
  const object = `test "${argv.join(' ')}" in ${image}`;
  let container: Docker.Container;
  try {
    container = await docker.createContainer({ Image: image, Cmd: argv, Tty: false, AttachStdout: true, AttachStderr: true, Labels: { 'wharf.kind': 'build-test', ...options.labels } });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status) throw new WharfError({ code: 'failed', object, cause: String((error as Error).message).replace(/^\(HTTP code \d+\) [^-]*- /, ''), inner: error });
    throw fromNetworkError(error, object, 'Check that the engine answers');
  }
  const lines: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];
  let timedOut = false;
  const kill = () => container.kill().catch(() => undefined);
  try {
    // Attach before start, so not a byte of output is missed.
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(stream, stdout, stderr);
    stream.on('end', () => {
      stdout.end();
      stderr.end();
    });
    for (const [name, output] of [['stdout', stdout], ['stderr', stderr]] as const) {
      const reader = createInterface({ input: output, crlfDelay: Infinity });
      lines.push((async () => {
        for await (const line of reader) options.onLine?.(line, name);
      })());
    }
    options.signal?.addEventListener('abort', kill, { once: true });
    await container.start();
    timers.push(
      setTimeout(() => {
        timedOut = true;
        void kill();
      }, options.timeoutMs ?? 600_000),
    );
    const result = (await container.wait()) as { StatusCode: number };
    // The attach stream can close a moment after the exit; wait for the last lines (bounded).
    await Promise.race([Promise.all(lines), new Promise((resolve) => timers.push(setTimeout(resolve, 2000)))]);
    if (options.signal?.aborted) throw new WharfError({ code: 'cancelled', object, cause: 'cancelled by the user' });
    return { exitCode: result.StatusCode, timedOut };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
    await container.remove({ force: true }).catch(() => undefined);
  }
}
