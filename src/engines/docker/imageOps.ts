/** What the Images tree does to an image: inspect, history, tag, remove, prune. Thin and typed. */
import type Docker from 'dockerode';
import { WharfError, fromNetworkError, messageOf } from '../core/errors';

function engineError(error: unknown, object: string): WharfError {
  const status = (error as { statusCode?: number }).statusCode;
  const message = messageOf(error).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  if (status === 404) return new WharfError({ code: 'not-found', object, cause: message || 'no such object', remedy: 'Refresh the view: it may have been removed meanwhile', inner: error });
  if (status === 409) return new WharfError({ code: 'conflict', object, cause: message, remedy: 'Remove or stop what uses it first, or force the removal', inner: error });
  if (status === 400) return new WharfError({ code: 'bad-input', object, cause: message, inner: error });
  if (status) return new WharfError({ code: 'failed', object, cause: message, inner: error });
  return fromNetworkError(error, object, 'Check that the engine answers');
}

/** Runs one engine call and maps its failure to a WharfError about `object`. */
export async function engineCall<T>(object: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw engineError(error, object);
  }
}

export function inspectImage(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo> {
  return engineCall(`image ${ref}`, () => docker.getImage(ref).inspect());
}

export interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export function imageHistory(docker: Docker, ref: string): Promise<HistoryEntry[]> {
  return engineCall(`image ${ref}`, () => docker.getImage(ref).history() as Promise<HistoryEntry[]>);
}

/** Splits "repo:tag" (a registry port is not a tag) and tags the image with it. */
export async function tagImage(docker: Docker, ref: string, target: string): Promise<void> {
  const { repo, tag } = splitReference(target);
  await engineCall(`image ${ref}`, () => docker.getImage(ref).tag({ repo, tag }));
}

export function splitReference(reference: string): { repo: string; tag: string } {
  const trimmed = reference.trim();
  if (!trimmed || /\s/.test(trimmed) || trimmed.includes('@')) {
    throw new WharfError({ code: 'bad-input', object: `reference "${reference}"`, cause: 'not a repository[:tag]', remedy: 'Use a name like registry:5000/team/app:1.2' });
  }
  const slash = trimmed.lastIndexOf('/');
  const colon = trimmed.lastIndexOf(':');
  const repo = colon > slash ? trimmed.slice(0, colon) : trimmed;
  const tag = colon > slash ? trimmed.slice(colon + 1) : 'latest';
  // Docker's grammar: the first component is a registry only when it has a dot, a port or is localhost.
  const parts = repo.split('/');
  const hasDomain = parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost');
  const domainOk = !hasDomain || /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?$/.test(parts[0]);
  const pathOk = parts.slice(hasDomain ? 1 : 0).every((part) => /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(part));
  if (!domainOk || !pathOk) {
    throw new WharfError({ code: 'bad-input', object: `reference "${reference}"`, cause: 'the repository name is not valid (lower case letters, digits, . _ - and /)', remedy: 'Use a name like registry:5000/team/app:1.2' });
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
    throw new WharfError({ code: 'bad-input', object: `reference "${reference}"`, cause: `"${tag}" is not a valid tag`, remedy: 'Tags use letters, digits, _ . - (up to 128)' });
  }
  return { repo, tag };
}

/** Removes one reference (a tag, or an image id for an untagged image). */
export async function removeImage(docker: Docker, ref: string, options: { force?: boolean } = {}): Promise<{ untagged: string[]; deleted: string[] }> {
  const result = await engineCall(`image ${ref}`, () => docker.getImage(ref).remove({ force: options.force }) as Promise<{ Untagged?: string; Deleted?: string }[]>);
  return {
    untagged: result.flatMap((entry) => (entry.Untagged ? [entry.Untagged] : [])),
    deleted: result.flatMap((entry) => (entry.Deleted ? [entry.Deleted] : [])),
  };
}

/** Removes dangling images only (never tagged ones) and says how much space came back. */
export async function pruneDanglingImages(docker: Docker): Promise<{ deleted: number; spaceReclaimed: number }> {
  const result = await engineCall('dangling images', () => docker.pruneImages({ filters: { dangling: { true: true } } }));
  return { deleted: (result.ImagesDeleted ?? []).filter((entry) => entry.Deleted).length, spaceReclaimed: result.SpaceReclaimed ?? 0 };
}
