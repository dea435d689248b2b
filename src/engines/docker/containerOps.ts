/** What the Containers tree does to a container. Logs are demultiplexed: non-TTY streams carry 8-byte frame headers. */
import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { engineCall } from './imageOps';

const obj = (id: string) => `container ${id.length === 64 ? id.slice(0, 12) : id}`;

/** 304 (already started / already stopped) is success: the container is where the user wanted it. */
async function idempotent(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 304) return;
    throw error;
  }
}

export const startContainer = (docker: Docker, id: string) => engineCall(obj(id), () => idempotent(() => docker.getContainer(id).start()));
export const stopContainer = (docker: Docker, id: string, timeoutSeconds?: number) =>
  engineCall(obj(id), () => idempotent(() => docker.getContainer(id).stop(timeoutSeconds === undefined ? {} : { t: timeoutSeconds })));
export const restartContainer = (docker: Docker, id: string) => engineCall(obj(id), () => docker.getContainer(id).restart());
export const removeContainer = (docker: Docker, id: string, options: { force?: boolean } = {}) =>
  engineCall(obj(id), () => docker.getContainer(id).remove({ force: options.force }));
export const inspectContainer = (docker: Docker, id: string) => engineCall(obj(id), () => docker.getContainer(id).inspect());

export interface LogStreams {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** Ends the follow. */
  stop(): void;
}

/** Follows a container's logs; for a non-TTY container the frames are split into stdout and stderr. */
export async function followLogs(docker: Docker, id: string, options: { tail?: number; follow?: boolean; timestamps?: boolean } = {}): Promise<LogStreams> {
  const container = docker.getContainer(id);
  const info = await inspectContainer(docker, id);
  const controller = new AbortController();
  const answer = (await engineCall(obj(id), () =>
    container.logs({ follow: options.follow ?? true, stdout: true, stderr: true, tail: options.tail ?? 500, timestamps: options.timestamps, abortSignal: controller.signal } as Docker.ContainerLogsOptions & { follow: true }),
  )) as NodeJS.ReadableStream | Buffer;
  // Without follow, dockerode hands back the whole answer as a Buffer; it is framed the same way.
  const raw: NodeJS.ReadableStream = Buffer.isBuffer(answer) ? Readable.from([answer]) : answer;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  if (info.Config.Tty) {
    raw.pipe(stdout);
  } else {
    docker.modem.demuxStream(raw, stdout, stderr);
  }
  const end = () => {
    stdout.end();
    stderr.end();
  };
  raw.on('end', end);
  raw.on('close', end);
  raw.on('error', end);
  return { stdout, stderr, stop: () => controller.abort() };
}
