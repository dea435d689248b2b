/**
 * Wasted bytes: file versions no container will ever see, because a later layer overwrote or
 * deleted them (dive's measure). Read from `docker save`, streamed: each layer tar is read in place
 * and reduced to a path→size list; only those lists are kept.
 */
import type Docker from 'dockerode';
import { fromNetworkError, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { ByteSource, readTar } from './tarReader';

export interface LayerFiles {
  /** path → size of every file or link this layer writes */
  files: Map<string, number>;
  /** paths this layer deletes (whiteouts) */
  deleted: string[];
  /** directories whose earlier content this layer hides (opaque whiteouts) */
  opaque: string[];
  /** sum of the sizes of the files written */
  bytes: number;
}

export interface WastedFile {
  path: string;
  size: number;
  /** index into the image's layers (RootFS order) */
  addedIn: number;
  removedIn: number;
  how: 'deleted' | 'overwritten';
}

export interface WastedReport {
  /** Per layer in RootFS order: bytes of file content written. */
  layerBytes: number[];
  /** Bytes written by the user layers (those at or after `firstUserLayer`). */
  userBytes: number;
  /** Bytes written in user layers and hidden by a later layer. */
  wastedBytes: number;
  /** Bytes of base layers hidden by user layers (deleting base files does not shrink the image). */
  baseHiddenBytes: number;
  /** 1 - wasted / user bytes, like dive's efficiency score. */
  efficiency: number;
  /** The biggest wasted files, largest first. */
  top: WastedFile[];
  firstUserLayer: number;
}

/** Reads the image's layers from the engine (`docker save`) and computes what is wasted. */
export async function measureWaste(docker: Docker, image: string, firstUserLayer: number, options: WorkOptions = {}): Promise<WastedReport> {
  const layers = await readSavedLayers(docker, image, options);
  return computeWaste(layers, firstUserLayer);
}

export async function readSavedLayers(docker: Docker, image: string, options: WorkOptions = {}): Promise<LayerFiles[]> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.getImage(image).get()) as NodeJS.ReadableStream;
  } catch (error) {
    throw fromNetworkError(error, `image ${image}`, 'Check that the image exists on this engine');
  }
  const byName = new Map<string, LayerFiles>();
  let manifest: { Layers: string[] }[] | undefined;
  let seen = 0;
  const onAbort = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    for await (const entry of readTar(new ByteSource(stream as AsyncIterable<Buffer>))) {
      throwIfCancelled(options.signal, `image ${image}`);
      const name = entry.header.name.replace(/^\.\//, '');
      if (name === 'manifest.json') {
        manifest = JSON.parse((await entry.body.read(entry.header.size)).toString('utf8')) as { Layers: string[] }[];
        continue;
      }
      const isLayer = name.endsWith('/layer.tar') || name.startsWith('blobs/');
      if (!isLayer || entry.header.typeflag !== '0' || entry.header.size < 512) continue;
      // OCI layouts keep configs in blobs/ too: a layer is whatever reads as a tar.
      const head = await entry.body.read(512);
      if (head.subarray(257, 262).toString('latin1') !== 'ustar' && !head.every((byte) => byte === 0)) continue;
      const layer = await summarizeLayer(prepend(head, entry.body));
      byName.set(name, layer);
      seen += entry.header.size;
      options.progress?.report({ message: `reading layers of ${image}`, completed: seen });
    }
  } catch (error) {
    throwIfCancelled(options.signal, `image ${image}`);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (!manifest?.[0]) throw new Error(`docker save of ${image} had no manifest.json`);
  return manifest[0].Layers.map((layer) => byName.get(layer) ?? { files: new Map(), deleted: [], opaque: [], bytes: 0 });
}

function prepend(head: Buffer, rest: ByteSource): ByteSource {
  return new ByteSource(
    (async function* () {
      yield head;
      for (;;) {
        const chunk = await rest.read(64 * 1024);
        if (!chunk.length) return;
        yield chunk;
      }
    })(),
  );
}

async function summarizeLayer(source: ByteSource): Promise<LayerFiles> {
  const layer: LayerFiles = { files: new Map(), deleted: [], opaque: [], bytes: 0 };
  for await (const entry of readTar(source)) {
    const name = entry.header.name.replace(/^\.?\//, '').replace(/\/$/, '');
    const slash = name.lastIndexOf('/');
    const dir = slash < 0 ? '' : name.slice(0, slash);
    const base = name.slice(slash + 1);
    if (base === '.wh..wh..opq') layer.opaque.push(dir);
    else if (base.startsWith('.wh.')) layer.deleted.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
    else if (entry.header.typeflag !== '5') {
      const size = entry.header.typeflag === '0' || entry.header.typeflag === '\0' ? entry.header.size : 0;
      layer.files.set(name, size);
      layer.bytes += size;
    }
  }
  return layer;
}

export function computeWaste(layers: LayerFiles[], firstUserLayer: number, topCount = 20): WastedReport {
  const visible = new Map<string, { size: number; layer: number }>();
  const wasted: WastedFile[] = [];
  const hide = (path: string, by: number, how: WastedFile['how']) => {
    const current = visible.get(path);
    if (!current) return;
    visible.delete(path);
    if (current.size > 0) wasted.push({ path, size: current.size, addedIn: current.layer, removedIn: by, how });
  };
  const hideUnder = (dir: string, by: number) => {
    const prefix = dir ? `${dir}/` : '';
    for (const path of [...visible.keys()]) if (path.startsWith(prefix)) hide(path, by, 'deleted');
  };
  layers.forEach((layer, index) => {
    for (const dir of layer.opaque) hideUnder(dir, index);
    for (const path of layer.deleted) {
      hide(path, index, 'deleted');
      hideUnder(path, index);
    }
    for (const [path, size] of layer.files) {
      hide(path, index, 'overwritten');
      visible.set(path, { size, layer: index });
    }
  });
  const userBytes = layers.slice(firstUserLayer).reduce((sum, layer) => sum + layer.bytes, 0);
  const wastedBytes = wasted.filter((file) => file.addedIn >= firstUserLayer).reduce((sum, file) => sum + file.size, 0);
  const baseHiddenBytes = wasted.filter((file) => file.addedIn < firstUserLayer).reduce((sum, file) => sum + file.size, 0);
  return {
    layerBytes: layers.map((layer) => layer.bytes),
    userBytes,
    wastedBytes,
    baseHiddenBytes,
    efficiency: userBytes > 0 ? Math.max(0, 1 - wastedBytes / userBytes) : 1,
    top: wasted.sort((a, b) => b.size - a.size).slice(0, topCount),
    firstUserLayer,
  };
}
