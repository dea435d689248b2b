/**
 * The classic builder's cache, read from the engine: an image is reusable for a step when its
 * Parent is the current parent and its ContainerConfig.Cmd is the step's command. Children are
 * inspected lazily, only along the path the Dockerfile walks.
 */
import type Docker from 'dockerode';
import { fromNetworkError } from '../core/errors';

export interface CachedImage {
  id: string;
  parent: string;
  /** ContainerConfig.Cmd, the string the cache compares. */
  cmd: string[];
  created: number;
}

export class ImageGraph {
  private readonly inspected = new Map<string, Promise<CachedImage | undefined>>();

  private constructor(
    private readonly docker: Docker,
    private readonly childrenOf: Map<string, string[]>,
  ) {}

  static async load(docker: Docker, signal?: AbortSignal): Promise<ImageGraph> {
    let images: Docker.ImageInfo[];
    try {
      images = await docker.listImages({ all: true, abortSignal: signal } as Docker.ListImagesOptions);
    } catch (error) {
      throw fromNetworkError(error, 'engine', 'Check that the engine runs, or choose another engine');
    }
    const children = new Map<string, string[]>();
    for (const image of images) {
      if (!image.ParentId) continue;
      const list = children.get(image.ParentId) ?? [];
      list.push(image.Id);
      children.set(image.ParentId, list);
    }
    return new ImageGraph(docker, children);
  }

  inspect(id: string): Promise<CachedImage | undefined> {
    let found = this.inspected.get(id);
    if (!found) {
      found = this.docker
        .getImage(id)
        .inspect()
        .then(
          (info) => {
            const raw = info as unknown as { Id: string; Parent?: string; ContainerConfig?: { Cmd?: string[] }; Config?: { Cmd?: string[] }; Created: string };
            return { id: raw.Id, parent: raw.Parent ?? '', cmd: raw.ContainerConfig?.Cmd ?? [], created: Date.parse(raw.Created) };
          },
          () => undefined,
        );
      this.inspected.set(id, found);
    }
    return found;
  }

  /** Images built on top of `parentId`, newest first (the builder takes the newest match). */
  async children(parentId: string): Promise<CachedImage[]> {
    const ids = this.childrenOf.get(parentId) ?? [];
    const images = (await Promise.all(ids.map((id) => this.inspect(id)))).filter((image): image is CachedImage => Boolean(image));
    return images.sort((a, b) => b.created - a.created);
  }

  /** The id a reference (name:tag or id) resolves to on this engine, if present. */
  async resolve(reference: string): Promise<string | undefined> {
    return (await this.inspect(reference))?.id;
  }
}

/**
 * A step command reduced to what identifies it: no shell prefix, no `#(nop)`, no build-arg prefix,
 * no JSON punctuation, single spaces. Applied to both the cached Cmd and the Dockerfile text.
 */
export function canonical(text: string): string {
  return text
    .replace(/["']/g, '')
    .replace(/[[\],]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function canonicalCmd(cmd: string[], shell: string[] = ['/bin/sh', '-c']): string {
  let parts = cmd;
  // RUN with build args: ["|2", "A=1", "B=2", <shell...>, command]
  const argCount = /^\|(\d+)$/.exec(parts[0] ?? '');
  if (argCount) parts = parts.slice(1 + Number(argCount[1]));
  const nop = parts.findIndex((part) => part.startsWith('#(nop)'));
  if (nop >= 0) return canonical(parts.slice(nop).join(' ').replace(/^#\(nop\)\s*/, ''));
  if (shell.length && shell.every((part, index) => parts[index] === part)) return canonical(`RUN ${parts.slice(shell.length).join(' ')}`);
  return canonical(`RUN ${parts.join(' ')}`);
}
