/**
 * Registry-to-registry copy over the distribution API, without an engine. The order is what makes
 * cancellation safe: every blob first, then child manifests by digest, and the tag last, so no tag
 * ever points at an image whose parts are missing. The manifest bytes are pushed unchanged, so the
 * digest at the target is the source's, and we check that it is.
 */
import { WharfError, throwIfCancelled } from '../core/errors';
import { silentLogger, silentProgress, type WorkOptions } from '../core/progress';
import { RegistryClient } from '../registry/client';
import type { CredentialSource } from '../registry/credentials';
import { isIndexType, parseJson, platformMatches, platformString, type Descriptor, type ImageManifestJson, type IndexJson } from '../registry/manifest';
import { formatReference, manifestRef, type Reference } from '../registry/reference';
import { runPool, transferBlob, type BlobOutcome } from './blobs';

export interface CopySummary {
  source: string;
  target: string;
  /** The digest the target tag now points at (the source's, unless an index was filtered). */
  digest: string;
  sourceDigest: string;
  mediaType: string;
  copied: number;
  skipped: number;
  mounted: number;
  /** Blob bytes that actually moved. */
  bytes: number;
  /** Sum of all blob sizes of the image(s). */
  totalBytes: number;
  platforms?: string[];
  /** True when a platform filter produced a new, smaller index (its digest differs by design). */
  filtered?: boolean;
}

export interface BlobEvent {
  digest: string;
  size: number;
  state: 'start' | 'progress' | BlobOutcome;
  bytes: number;
}

export interface CopyOptions extends WorkOptions {
  source: Reference;
  target: Reference;
  /** Clients to reuse (their tokens); built from `credentials` otherwise. */
  sourceClient?: RegistryClient;
  targetClient?: RegistryClient;
  credentials?: CredentialSource;
  /** Keep only these platforms of an index ("linux/amd64"). One platform copies that image alone. */
  platforms?: string[];
  /** Blobs in flight at once (default 6, as skopeo and docker push use about). */
  parallel?: number;
  /** Try cross-repository mounts on the same registry (default true). */
  mount?: boolean;
  /** Copy plain-HTTP blobs socket to socket (default true; false streams every blob through Node's http). */
  pipe?: boolean;
  onBlob?: (event: BlobEvent) => void;
}

interface ImagePlan {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  blobs: Descriptor[];
  /** Child manifests of an index are pushed by digest before the tag; the tagged one is pushed last. */
  putByDigest: boolean;
}

export async function copyImage(options: CopyOptions): Promise<CopySummary> {
  const log = options.log ?? silentLogger;
  const progress = options.progress ?? silentProgress;
  const signal = options.signal;
  const parallel = options.parallel ?? 6;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) {
    throw new WharfError({ code: 'bad-input', object: 'parallel', cause: `${parallel} is not between 1 and 32`, remedy: 'Use a small whole number such as 4' });
  }
  const { source, target } = options;
  if (!target.tag && !target.digest) throw new WharfError({ code: 'bad-input', object: formatReference(target), cause: 'the target needs a tag', remedy: 'Add :TAG to the target' });
  const sourceClient = options.sourceClient ?? new RegistryClient({ registry: source.registry, credentials: options.credentials, log });
  // One client per registry: tokens are shared when source and target live in the same one.
  const targetClient = options.targetClient ?? (source.registry === target.registry ? sourceClient : new RegistryClient({ registry: target.registry, credentials: options.credentials, log }));
  const sourceName = formatReference(source);
  const targetName = formatReference(target);

  progress.report({ message: `reading ${sourceName}` });
  const top = await sourceClient.getManifest(source.repository, manifestRef(source), signal);
  const images: ImagePlan[] = [];
  let finalBytes = top.bytes;
  let finalMediaType = top.mediaType;
  let platforms: string[] | undefined;
  let filtered = false;

  if (isIndexType(top.mediaType)) {
    const index = parseJson<IndexJson>(top.bytes, sourceName);
    let children = index.manifests ?? [];
    if (options.platforms?.length) {
      const wanted = options.platforms;
      children = children.filter((child) => wanted.some((platform) => platformMatches(child.platform, platform)));
      if (!children.length) {
        const present = (index.manifests ?? []).map((child) => platformString(child.platform)).join(', ');
        throw new WharfError({ code: 'not-found', object: sourceName, cause: `no manifest for ${wanted.join(', ')} in the index (it has ${present || 'none'})`, remedy: 'Pick one of the platforms it has' });
      }
    }
    platforms = children.map((child) => platformString(child.platform));
    for (const child of children) {
      throwIfCancelled(signal, sourceName);
      const manifest = await sourceClient.getManifest(source.repository, child.digest, signal);
      images.push(imagePlan(manifest.digest, manifest.mediaType, manifest.bytes, sourceName, true));
    }
    if (options.platforms?.length && children.length === 1) {
      // One platform: the target gets that platform's image manifest, digest unchanged.
      finalBytes = images[0].bytes;
      finalMediaType = images[0].mediaType;
      images[0].putByDigest = false;
    } else if (options.platforms?.length && children.length < (index.manifests ?? []).length) {
      // Several platforms out of more: a new index listing only them (a new digest, by necessity).
      filtered = true;
      finalBytes = Buffer.from(JSON.stringify({ ...index, manifests: children }));
    }
  } else {
    images.push(imagePlan(top.digest, top.mediaType, top.bytes, sourceName, false));
  }

  // Each blob once, even when several platforms share it (base layers often are).
  const unique = new Map<string, Descriptor>();
  for (const image of images) for (const blob of image.blobs) unique.set(blob.digest, blob);
  // Biggest first: the long transfers start at once and the small ones fill the gaps at the end.
  const blobs = [...unique.values()].sort((a, b) => (b.size || 0) - (a.size || 0));
  const totalBytes = blobs.reduce((sum, blob) => sum + (blob.size || 0), 0);
  const counts = { copied: 0, skipped: 0, mounted: 0 };
  let moved = 0;
  let done = 0;
  const started = Date.now();
  const report = (message: string) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = moved / seconds;
    progress.report({ message: `${message} (${done}/${blobs.length} blobs, ${formatBytes(moved)} at ${formatBytes(rate)}/s)`, completed: Math.min(totalBytes, moved + skippedBytes()), total: totalBytes });
  };
  let skippedOrMountedBytes = 0;
  const skippedBytes = () => skippedOrMountedBytes;

  await runPool(
    blobs,
    parallel,
    async (blob) => {
      options.onBlob?.({ digest: blob.digest, size: blob.size, state: 'start', bytes: 0 });
      let blobBytes = 0;
      const outcome = await transferBlob(blob, {
        source: sourceClient,
        sourceRepository: source.repository,
        target: targetClient,
        targetRepository: target.repository,
        signal,
        log,
        mount: options.mount,
        pipe: options.pipe,
        onBytes: (_digest, bytes) => {
          moved += bytes;
          blobBytes += bytes;
          options.onBlob?.({ digest: blob.digest, size: blob.size, state: 'progress', bytes: blobBytes });
          report(`copying ${short(blob.digest)} ${formatBytes(blobBytes)}/${formatBytes(blob.size)}`);
        },
        onRestart: (_digest, sentSoFar) => {
          // Wind progress back: those bytes will be sent again.
          moved -= sentSoFar;
          blobBytes = 0;
        },
      });
      counts[outcome]++;
      done++;
      if (outcome !== 'copied') skippedOrMountedBytes += blob.size || 0;
      options.onBlob?.({ digest: blob.digest, size: blob.size, state: outcome, bytes: outcome === 'copied' ? blobBytes : 0 });
      report(`${outcome} ${short(blob.digest)}`);
      log.trace(`${targetName}: ${outcome} ${blob.digest} (${blob.size} bytes)`);
    },
    signal,
  );

  // Manifests last: children by digest, then the tag. Nothing is tagged before everything is there.
  for (const image of images) {
    if (!image.putByDigest) continue;
    throwIfCancelled(signal, targetName);
    await targetClient.putManifest(target.repository, image.digest, image.bytes, image.mediaType, signal);
  }
  throwIfCancelled(signal, targetName);
  progress.report({ message: `tagging ${targetName}` });
  const targetRef = manifestRef(target);
  const pushed = await targetClient.putManifest(target.repository, targetRef, finalBytes, finalMediaType, signal);

  // Verify what the registry now serves under the tag, not only what we sent.
  const head = await targetClient.headManifest(target.repository, targetRef, signal);
  const expected = filtered || options.platforms?.length ? pushed : top.digest;
  if (!head || head.digest !== expected) {
    throw new WharfError({
      code: 'failed',
      object: targetName,
      cause: `digest mismatch after the copy: the source is ${expected}, the target serves ${head?.digest ?? 'nothing'}`,
      remedy: 'The target registry rewrote the manifest or someone pushed at the same time; do not deploy it, retry the promotion',
    });
  }
  return { source: sourceName, target: targetName, digest: head.digest, sourceDigest: top.digest, mediaType: finalMediaType, ...counts, bytes: moved, totalBytes, platforms, filtered: filtered || undefined };
}

function imagePlan(digest: string, mediaType: string, bytes: Buffer, object: string, putByDigest: boolean): ImagePlan {
  const manifest = parseJson<ImageManifestJson>(bytes, object);
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new WharfError({ code: 'unsupported', object, cause: `manifest ${digest} (${mediaType}) is not an image manifest Wharf can copy`, remedy: 'Only OCI and Docker v2 schema 2 images and indexes are supported' });
  }
  return { digest, mediaType, bytes, blobs: [manifest.config, ...manifest.layers], putByDigest };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

