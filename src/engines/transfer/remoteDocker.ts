/**
 * The docker CLI on an SSH host, with its failures told apart: not installed, no permission on the
 * engine socket, engine not running, disk full. Every command is argv (quoted by exec.ts).
 */
import type { Client } from 'ssh2';
import { WharfError } from '../core/errors';
import { execCapture, type ExecResult } from '../ssh/exec';
import { parseLayerLists } from './layers';

export interface RemoteFailure {
  host: string;
  /** What was being done, e.g. "docker load". */
  action: string;
  code: number | null;
  signal?: string;
  stderr: string;
}

/** Maps a failed remote docker command to a WharfError naming the object, the cause and the way out. */
export function remoteDockerError(failure: RemoteFailure): WharfError {
  const { host, action, code, stderr } = failure;
  const text = stderr.trim();
  const lower = text.toLowerCase();
  if (code === 127 || /docker: (command )?not found/.test(lower)) {
    return new WharfError({ code: 'not-found', object: `docker on ${host}`, cause: `docker is not installed on ${host}`, remedy: `Install Docker on ${host}, or put it on the PATH of non-interactive SSH sessions` });
  }
  if (lower.includes('permission denied') && (lower.includes('docker.sock') || lower.includes('docker daemon socket'))) {
    return new WharfError({
      code: 'forbidden',
      object: `docker on ${host}`,
      cause: 'permission denied on the engine socket',
      remedy: `Add the SSH user to the "docker" group on ${host} (then log in again), or connect as a user that may use Docker`,
    });
  }
  if (lower.includes('no space left on device') || lower.includes('enospc')) {
    return new WharfError({ code: 'disk-full', object: `docker on ${host}`, cause: `${action} failed: no space left on device`, remedy: `Free disk space on ${host} (docker system prune, or remove old images) and send again` });
  }
  if (lower.includes('cannot connect to the docker daemon') || lower.includes('is the docker daemon running')) {
    return new WharfError({ code: 'unreachable', object: `docker on ${host}`, cause: 'the engine is not running (the docker CLI cannot reach it)', remedy: `Start Docker on ${host}, or set DOCKER_HOST for SSH sessions there` });
  }
  const how = failure.signal ? `was stopped by ${failure.signal}` : `exited with ${code ?? 'no status'}`;
  return new WharfError({ code: 'failed', object: `docker on ${host}`, cause: `${action} ${how}: ${lastLine(text) || 'no message'}`, remedy: 'See the log for the full output' });
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** Runs `docker ARGS...` on the host; a non-zero exit becomes a classified WharfError. */
export async function remoteDocker(client: Client, host: string, args: string[], limitBytes?: number): Promise<ExecResult> {
  const result = await execCapture(client, ['docker', ...args], limitBytes);
  if (result.code !== 0) throw remoteDockerError({ host, action: `docker ${args[0] ?? ''}`.trim(), code: result.code, stderr: result.stderr });
  return result;
}

/**
 * The tags of image ID on the host, or undefined when the host has no such image: one remote call
 * answers both "is it there" and "does it carry the tag" (each call starts a session and a docker CLI).
 */
export async function remoteImageTags(client: Client, host: string, id: string): Promise<string[] | undefined> {
  const result = await execCapture(client, ['docker', 'image', 'inspect', '--format', '{{json .RepoTags}}', id]);
  if (result.code !== 0) {
    if (/no such (image|object)/i.test(result.stderr)) return undefined;
    throw remoteDockerError({ host, action: 'docker image inspect', code: result.code, stderr: result.stderr });
  }
  try {
    const tags = JSON.parse(result.stdout.trim() || 'null') as unknown;
    return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : [];
  } catch {
    throw new WharfError({ code: 'failed', object: `docker on ${host}`, cause: `unexpected output from docker image inspect: ${result.stdout.slice(0, 80)}`, remedy: 'See the log for the full output' });
  }
}

/** Every image's RootFS layer list on the host, in batches to keep command lines short. */
export async function remoteLayerLists(client: Client, host: string): Promise<string[][]> {
  const ids = [...new Set((await remoteDocker(client, host, ['image', 'ls', '--all', '--quiet', '--no-trunc'], 16 << 20)).stdout.split('\n').map((line) => line.trim()).filter(Boolean))];
  const lists: string[] = [];
  for (let start = 0; start < ids.length; start += 200) {
    const batch = ids.slice(start, start + 200);
    const result = await execCapture(client, ['docker', 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', ...batch], 64 << 20);
    // An image removed between the two commands makes inspect fail for it only; the rest still print.
    if (result.code !== 0 && !/no such (image|object)/i.test(result.stderr)) {
      throw remoteDockerError({ host, action: 'docker image inspect', code: result.code, stderr: result.stderr });
    }
    lists.push(result.stdout);
  }
  return lists.flatMap(parseLayerLists);
}
