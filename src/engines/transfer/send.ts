/**
 * Send an image to an SSH host with no registry: `docker save` from the local engine, streamed
 * through one ssh2 exec channel into `docker load` on the host (the book's technique 73, without
 * the shell pipe and without a temporary file on either side).
 *
 * Only what the host lacks is sent: the host's images say which layer chains it has; the archive
 * is rewritten on the fly so those layers' layer.tar files are empty. `docker load` looks a layer
 * up by its chain id before reading its file, so an empty file is never read. The loaded image id
 * is then proven equal to the source's (arrival.ts: from the archive's config and docker load's
 * report, else by asking the host).
 *
 * Cancel and failures: `docker load` first unpacks the whole archive into a temporary folder of
 * the engine and registers layers and the image only after the archive is complete, removing the
 * folder on error. The archive is made to fail for sure (see TarFilter.poison), so a cancelled
 * send leaves no image, no tag and no file behind (the tests check this on the lab's host).
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Client, ClientChannel } from 'ssh2';
import { WharfError, messageOf, throwIfCancelled } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { ConfigWitness } from './arrival';
import { chainIds, ociLayerIndex, scanLayerPaths, type LayerPaths } from './layers';
import { pumpToRemote, startRemote, throttledProgress } from './pump';
import { remoteDocker, remoteDockerError, remoteImageTags, remoteLayerLists } from './remoteDocker';
import { TarFilter } from './tarStream';

export interface SendOptions extends WorkOptions {
  /** The local engine the image is on. */
  docker: Docker;
  /** A connected SSH host (see openHost). */
  ssh: Client;
  /** The host as the user named it, for messages. */
  host: string;
  /** An image reference or id on the local engine. */
  image: string;
  /** gzip on the wire (docker load unpacks gzip itself). */
  compress?: boolean;
  /** Send every layer, even those the host has. */
  full?: boolean;
}

export interface SendResult {
  image: string;
  imageId: string;
  host: string;
  /** The image was already on the host: nothing was sent, only tags were set. */
  alreadyPresent: boolean;
  layers: number;
  layersSkipped: number;
  /** Bytes of the `docker save` archive read locally. */
  archiveBytes: number;
  /** Bytes of the rewritten archive (layers the host has left out). */
  sentBytes: number;
  /** Bytes written into the SSH channel (after compression). */
  wireBytes: number;
  compressed: boolean;
  seconds: number;
}

interface LocalImage {
  Id: string;
  RepoTags?: string[];
  Size?: number;
  RootFS?: { Layers?: string[] };
}

export async function inspectLocalImage(docker: Docker, image: string): Promise<LocalImage> {
  try {
    return (await docker.getImage(image).inspect()) as LocalImage;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) {
      throw new WharfError({ code: 'not-found', object: `image ${image}`, cause: 'no such image on the local engine', remedy: 'Check the name with `docker images`, or pick another engine with --host/--context' });
    }
    throw new WharfError({ code: 'unreachable', object: 'local engine', cause: messageOf(error), remedy: 'Start Docker, or pick another engine with --host/--context', inner: error });
  }
}

export async function sendImage(options: SendOptions): Promise<SendResult> {
  const { docker, ssh, host, image, signal, log } = options;
  const started = Date.now();
  const object = `image ${image}`;
  const local = await inspectLocalImage(docker, image);
  const diffIds = local.RootFS?.Layers ?? [];
  const chains = chainIds(diffIds);
  const base = { image, imageId: local.Id, host, layers: diffIds.length, compressed: Boolean(options.compress) };
  const tag = tagOf(image, local);
  // Save by the one tag (a bare repository name would save all its tags) or else by id.
  const saveRef = tag ?? local.Id;
  throwIfCancelled(signal, object);

  // Already there (same id): set the tag the user asked for, send nothing.
  const present = options.full ? undefined : await remoteImageTags(ssh, host, local.Id);
  if (present) {
    if (tag && !present.includes(tag)) await remoteDocker(ssh, host, ['tag', local.Id, tag]);
    log?.info(`send ${image} → ${host}: already there (${local.Id})`);
    return { ...base, alreadyPresent: true, layersSkipped: diffIds.length, archiveBytes: 0, sentBytes: 0, wireBytes: 0, seconds: (Date.now() - started) / 1000 };
  }

  // Which of our layer chains the host has.
  const skip = new Set<number>();
  if (!options.full && diffIds.length > 0) {
    options.progress?.report({ message: `Asking ${host} which layers it has` });
    const hostChains = new Set((await remoteLayerLists(ssh, host)).flatMap(chainIds));
    chains.forEach((chain, index) => hostChains.has(chain) && skip.add(index));
  }
  throwIfCancelled(signal, object);

  // A legacy archive names layers by v1 ids: a reading pass maps them to RootFS positions.
  let paths: LayerPaths = new Map();
  let total = (local.Size ?? 0) + 10240 * (diffIds.length + 1);
  if (skip.size > 0) {
    options.progress?.report({ message: `${skip.size} of ${diffIds.length} layers are on ${host}; mapping the archive` });
    const scan = await scanLayerPaths(await saveStream(docker, saveRef), diffIds, signal);
    paths = scan.paths;
    total = scan.bytes;
  }
  throwIfCancelled(signal, object);

  let skipped = 0;
  const witness = new ConfigWitness(local.Id);
  const filter = new TarFilter({
    blank: (entry) => {
      const index = paths.get(entry.name) ?? ociLayerIndex(entry.name, diffIds);
      return index !== undefined && skip.has(index);
    },
    onBlanked: () => skipped++,
    capture: witness.wants,
    onCaptured: witness.check,
  });
  // `docker load` starts on the host while the local engine prepares the archive (a 20.10 engine
  // writes the whole export to a temporary folder before the first byte): the session's start is hidden.
  const loading = startRemote(ssh, ['docker', 'load'], host);
  let source: Readable;
  let channel: ClientChannel;
  try {
    source = await saveStream(docker, saveRef);
  } catch (error) {
    loading.abandon();
    throw error;
  }
  try {
    channel = await loading.channel;
  } catch (error) {
    source.destroy();
    throw error;
  }
  let wireBytes = 0;
  const report = throttledProgress(options.progress, `Sending ${image} to ${host}`, total, () => filter.bytesIn, () => wireBytes);
  // Stages only where they do work: the filter (blanking, and poisoning on cancel) and gzip when asked.
  const tail = options.compress ? source.pipe(filter).pipe(createGzip({ level: 1 })) : source.pipe(filter);

  const run = await pumpToRemote(ssh, ['docker', 'load'], {
    channel,
    source,
    tail,
    signal,
    onWire: () => report.tick(),
    spoil: () => {
      filter.poison();
      filter.end();
    },
  });
  wireBytes = run.wireBytes;
  report.final();
  log?.trace(`send ${image} → ${host}: docker load exited ${run.code}${run.signal ? ` (${run.signal})` : ''}; ${run.stdout.trim()} ${run.stderr.trim()}`);
  if (run.cancelled) throw new WharfError({ code: 'cancelled', object, cause: `cancelled; nothing was loaded on ${host}` });
  if (run.localError) {
    throw new WharfError({ code: 'interrupted', object, cause: `reading the image from the local engine failed: ${messageOf(run.localError)}`, remedy: 'Check the local engine and send again', inner: run.localError });
  }
  if (run.code !== 0) {
    const error = remoteDockerError({ host, action: 'docker load', code: run.code, signal: run.signal, stderr: run.stderr || run.stdout });
    if (skip.size > 0 && /layer|diffid|does not exist/i.test(run.stderr)) {
      throw new WharfError({ code: 'failed', object, cause: `${host} no longer has a layer it had a moment ago (${error.reason})`, remedy: 'Send again, or with --full to send every layer', inner: error });
    }
    throw error;
  }

  // The proof: the host now has exactly the source's image id. The archive and docker load's own
  // report settle it (see arrival.ts); only when they do not is the host asked.
  if (!witness.proves(run.stdout, tag ?? local.Id)) {
    const arrived = await remoteImageTags(ssh, host, local.Id);
    if (!arrived) {
      throw new WharfError({ code: 'failed', object, cause: `${host} did not end up with image ${local.Id} (docker load said: ${run.stdout.trim() || 'nothing'})`, remedy: 'Send again with --full' });
    }
    if (tag && !arrived.includes(tag)) await remoteDocker(ssh, host, ['tag', local.Id, tag]);
  }
  return {
    ...base,
    alreadyPresent: false,
    layersSkipped: skipped,
    archiveBytes: filter.bytesIn,
    sentBytes: filter.bytesOut,
    wireBytes: run.wireBytes,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The tag to apply on the host: the reference the user gave when it is one of the image's tags. */
function tagOf(image: string, local: LocalImage): string | undefined {
  const tags = local.RepoTags ?? [];
  if (tags.includes(image)) return image;
  if (!image.includes(':') && tags.includes(`${image}:latest`)) return `${image}:latest`;
  return undefined;
}

export async function saveStream(docker: Docker, image: string): Promise<Readable> {
  try {
    return (await docker.getImage(image).get()) as Readable;
  } catch (error) {
    throw new WharfError({ code: 'failed', object: `image ${image}`, cause: `docker save failed: ${messageOf(error)}`, inner: error });
  }
}
