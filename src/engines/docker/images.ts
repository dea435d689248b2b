/**
 * Image listing, grouped by repository. One `GET /images/json` and nothing per image: no
 * `shared-size`, no per-image inspect, which is what made a peer's listing go from 0.5 s to 5 s.
 */
import type Docker from 'dockerode';
import { fromNetworkError } from '../core/errors';

export interface ImageTag {
  /** repository:tag, or the image id when the image has no tag (dangling). */
  reference: string;
  repository: string;
  tag: string;
  id: string;
  /** repo@sha256:... when the image came from or went to a registry. */
  digest?: string;
  size: number;
  /** Unix seconds. */
  created: number;
  dangling: boolean;
  containers?: number;
}

export interface ImageGroup {
  repository: string;
  tags: ImageTag[];
}

export const NONE = '<none>';

export async function listImages(docker: Docker, object = 'engine', signal?: AbortSignal): Promise<Docker.ImageInfo[]> {
  try {
    return await docker.listImages({ all: false, abortSignal: signal } as Docker.ListImagesOptions);
  } catch (error) {
    throw fromNetworkError(error, object, 'Check that the engine runs, or choose another engine');
  }
}

/** One entry per tag (an image tagged twice appears twice); untagged images once, marked dangling. */
export function imageTags(images: Docker.ImageInfo[]): ImageTag[] {
  const out: ImageTag[] = [];
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
    const digests = (image.RepoDigests ?? []).filter((digest) => !digest.startsWith('<none>@'));
    const base = { id: image.Id, size: image.Size, created: image.Created, containers: image.Containers >= 0 ? image.Containers : undefined };
    if (tags.length === 0) {
      const repository = digests[0] ? digests[0].slice(0, digests[0].lastIndexOf('@')) : NONE;
      out.push({ ...base, reference: digests[0] ?? image.Id, repository, tag: NONE, digest: digests[0], dangling: true });
      continue;
    }
    for (const reference of tags) {
      const colon = reference.lastIndexOf(':');
      const repository = reference.slice(0, colon);
      const digest = digests.find((candidate) => candidate.startsWith(`${repository}@`));
      out.push({ ...base, reference, repository, tag: reference.slice(colon + 1), digest, dangling: false });
    }
  }
  return out;
}

/** Repositories sorted by name, tags newest first; dangling images only when asked for. */
export function groupImages(tags: ImageTag[], options: { showDangling?: boolean } = {}): ImageGroup[] {
  const groups = new Map<string, ImageTag[]>();
  for (const tag of tags) {
    if (tag.dangling && !options.showDangling) continue;
    let list = groups.get(tag.repository);
    if (!list) groups.set(tag.repository, (list = []));
    list.push(tag);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === NONE ? 1 : b === NONE ? -1 : a.localeCompare(b)))
    .map(([repository, list]) => ({ repository, tags: list.sort((a, b) => b.created - a.created || a.tag.localeCompare(b.tag)) }));
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Docker's own units (powers of 1000), so sizes match `docker image ls`. */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(value >= 10 ? 1 : 2)} ${UNITS[unit]}`;
}

/** "3 minutes ago", like the docker CLI. */
export function formatAge(unixSeconds: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round(now / 1000 - unixSeconds));
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [4.35, 'week'],
    [12, 'month'],
    [Number.POSITIVE_INFINITY, 'year'],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (value < size) {
      const whole = Math.floor(value);
      return whole <= 1 && unit === 'second' ? 'just now' : `${whole} ${unit}${whole === 1 ? '' : 's'} ago`;
    }
    value /= size;
  }
  return 'long ago';
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
