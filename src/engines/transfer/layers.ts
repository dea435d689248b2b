/**
 * Which layers of an image a host already has, and where they sit in a `docker save` archive.
 *
 * A legacy `docker save` archive (Engine ≤ 24) names each layer's folder by a v1 id, not by its
 * diff id, and lists the folders in lexical order before manifest.json. The folder's `json` says
 * which folder is its parent, so the parent chain orders the folders bottom-up, and position i in
 * that chain is RootFS.Layers[i]. Newer engines write OCI layouts (`blobs/sha256/<diff id>`),
 * where the name itself is the diff id.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WharfError } from '../core/errors';
import { TarFilter } from './tarStream';

/** chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)), as the layer store keys layers. */
export function chainIds(diffIds: string[]): string[] {
  const chains: string[] = [];
  for (const diff of diffIds) {
    const parent = chains[chains.length - 1];
    chains.push(parent ? `sha256:${createHash('sha256').update(`${parent} ${diff}`).digest('hex')}` : diff);
  }
  return chains;
}

/** The archive path of every layer (folder/layer.tar or blobs/sha256/x) → its index in RootFS.Layers. */
export type LayerPaths = Map<string, number>;

/**
 * Reads an archive once, keeping only the small `json` files, and works out the layer paths.
 * Used as a pre-pass on the same image the real transfer saves again (same folder names).
 */
export async function scanLayerPaths(archive: Readable, diffIds: string[], signal?: AbortSignal): Promise<{ paths: LayerPaths; bytes: number }> {
  const folders = new Map<string, { id?: string; parent?: string }>();
  let manifestLayers: string[] | undefined;
  const filter = new TarFilter({
    emit: false,
    capture: (entry) => /^[0-9a-f]{64}\/json$/.test(entry.name) || entry.name === 'manifest.json',
    onCaptured: (entry, content) => {
      try {
        if (entry.name === 'manifest.json') {
          const manifest = JSON.parse(content.toString('utf8')) as { Layers?: string[] }[];
          if (manifest.length === 1) manifestLayers = manifest[0].Layers;
          return;
        }
        const json = JSON.parse(content.toString('utf8')) as { id?: string; parent?: string };
        folders.set(entry.name.slice(0, 64), { id: json.id, parent: json.parent });
      } catch {
        // an unreadable json only means that layer is sent in full
      }
    },
  });
  await pipeline(archive, filter, { signal });
  const paths: LayerPaths = new Map();
  // The manifest lists the layer paths in RootFS order: the most direct answer when present.
  if (manifestLayers && manifestLayers.length === diffIds.length) {
    manifestLayers.forEach((layerPath, index) => paths.set(layerPath, index));
    return { paths, bytes: filter.bytesIn };
  }
  const byParent = new Map<string, string>();
  for (const [folder, { parent }] of folders) byParent.set(parent ?? '', folder);
  let current = byParent.get('');
  for (let index = 0; current !== undefined && index < diffIds.length; index++) {
    paths.set(`${current}/layer.tar`, index);
    current = byParent.get(current);
  }
  return { paths, bytes: filter.bytesIn };
}

/** For OCI-layout archives the blob name is the diff id of an uncompressed layer. */
export function ociLayerIndex(name: string, diffIds: string[]): number | undefined {
  const match = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
  if (!match) return undefined;
  const index = diffIds.indexOf(`sha256:${match[1]}`);
  return index < 0 ? undefined : index;
}

/** Parses `docker image inspect --format '{{json .RootFS.Layers}}'` output (one JSON array a line). */
export function parseLayerLists(stdout: string): string[][] {
  const lists: string[][] = [];
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    if (!text || text === 'null') continue;
    try {
      const layers = JSON.parse(text) as unknown;
      if (Array.isArray(layers)) lists.push(layers.filter((layer): layer is string => typeof layer === 'string'));
    } catch {
      throw new WharfError({ code: 'failed', object: 'remote image list', cause: `unexpected output from docker image inspect: ${text.slice(0, 80)}` });
    }
  }
  return lists;
}
