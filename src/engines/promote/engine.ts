/**
 * Promotion through a Docker engine, as the book does it: pull, tag, push, remove the source tag,
 * prune dangling images. Each step is reported. dockerode's pull/push resolve before the work is
 * done and their streams can end "successfully" with {"error": ...} lines, so every line is read.
 * Used for images that exist only in the engine, or on request.
 */
import type Docker from 'dockerode';
import { WharfError, fromNetworkError, throwIfCancelled } from '../core/errors';
import { silentLogger, silentProgress, type WorkOptions } from '../core/progress';
import { removeImage, pruneDanglingImages, tagImage } from '../docker/imageOps';
import { followProgress, type ProgressLine } from '../docker/progressStream';
import { pullImage } from '../docker/pull';
import type { CredentialSource } from '../registry/credentials';
import { familiarReference, formatReference, type Reference } from '../registry/reference';

export interface EngineStep {
  step: 'pull' | 'tag' | 'push' | 'remove-source-tag' | 'prune';
  detail: string;
  skipped?: boolean;
}

export interface EnginePromoteResult {
  source: string;
  target: string;
  digest?: string;
  steps: EngineStep[];
  spaceReclaimed: number;
}

export interface EnginePromoteOptions extends WorkOptions {
  docker: Docker;
  /** What the engine knows the image as ("app:1", "127.0.0.1:5000/team/app:1"). */
  source: string;
  /** Parsed source, when it names a registry image (pulled first). Undefined for local-only images. */
  sourceRef?: Reference;
  target: Reference;
  credentials?: CredentialSource;
  /** Pull even when the engine already has the image (default true for registry images). */
  pull?: boolean;
  /** Remove the source tag and prune dangling images afterwards, as the book does (default true). */
  cleanup?: boolean;
}

interface PushLine extends ProgressLine {
  aux?: { Tag?: string; Digest?: string; Size?: number };
}

async function authFor(credentials: CredentialSource | undefined, registry: string): Promise<Docker.AuthConfig | undefined> {
  const found = await credentials?.(registry);
  if (!found) return undefined;
  if (found.identityToken) return { identitytoken: found.identityToken, serveraddress: registry } as unknown as Docker.AuthConfig;
  if (found.username) return { username: found.username, password: found.password ?? '', serveraddress: registry };
  return undefined;
}

export async function promoteViaEngine(options: EnginePromoteOptions): Promise<EnginePromoteResult> {
  const { docker, signal } = options;
  const progress = options.progress ?? silentProgress;
  const log = options.log ?? silentLogger;
  const cleanup = options.cleanup ?? true;
  const targetName = familiarReference(options.target);
  const steps: EngineStep[] = [];
  const step = (entry: EngineStep) => {
    steps.push(entry);
    progress.report({ message: `${entry.step}: ${entry.detail}` });
    log.info(`promote ${options.source} → ${targetName}: ${entry.step}${entry.skipped ? ' (skipped)' : ''}: ${entry.detail}`);
  };

  const hadSource = await docker
    .getImage(options.source)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  let pulled = false;
  if (options.sourceRef && (options.pull ?? true)) {
    throwIfCancelled(signal, options.source);
    const authconfig = await authFor(options.credentials, options.sourceRef.registry);
    const result = await pullImage(docker, options.source, { signal, progress, log, authconfig });
    pulled = !hadSource;
    step({ step: 'pull', detail: `${options.source}${result.digest ? ` (${result.digest})` : ''}` });
  } else if (!hadSource) {
    throw new WharfError({ code: 'not-found', object: `image ${options.source}`, cause: 'the engine has no such image', remedy: 'Build or pull it first, or promote from a registry with --via registry' });
  } else {
    step({ step: 'pull', detail: 'local image, nothing to pull', skipped: true });
  }

  throwIfCancelled(signal, options.source);
  await tagImage(docker, options.source, targetName);
  step({ step: 'tag', detail: `${options.source} as ${targetName}` });

  throwIfCancelled(signal, targetName);
  const digest = await pushImage(docker, targetName, options.target, { signal, progress, authconfig: await authFor(options.credentials, options.target.registry) });
  step({ step: 'push', detail: `${formatReference(options.target)}${digest ? ` (${digest})` : ''}` });

  let spaceReclaimed = 0;
  if (cleanup && pulled) {
    // Only a tag this promotion pulled is removed: an image the user had stays.
    await removeImage(docker, options.source);
    step({ step: 'remove-source-tag', detail: options.source });
  } else {
    step({ step: 'remove-source-tag', detail: pulled ? 'kept (cleanup off)' : `kept ${options.source}: it was in the engine before`, skipped: true });
  }
  if (cleanup) {
    const pruned = await pruneDanglingImages(docker);
    spaceReclaimed = pruned.spaceReclaimed;
    step({ step: 'prune', detail: `${pruned.deleted} dangling image(s), ${spaceReclaimed} bytes reclaimed` });
  } else {
    step({ step: 'prune', detail: 'cleanup off', skipped: true });
  }
  return { source: options.source, target: formatReference(options.target), digest, steps, spaceReclaimed };
}

/** Pushes and follows the stream to its end; fails on the first {"error": ...} line. Returns the digest. */
export async function pushImage(docker: Docker, name: string, target: Reference, options: WorkOptions & { authconfig?: Docker.AuthConfig }): Promise<string | undefined> {
  const object = `image ${name}`;
  const progress = options.progress ?? silentProgress;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.getImage(name).push({ tag, authconfig: options.authconfig, abortSignal: options.signal } as object)) as NodeJS.ReadableStream;
  } catch (error) {
    throw pushError(error, object, target.registry);
  }
  let digest: string | undefined;
  await followProgress<PushLine>(stream, {
    object,
    signal: options.signal,
    progress,
    describe: (line) => `push ${line.id ? `${line.id}: ` : ''}${line.status ?? ''}`,
    onLine: (line) => {
      if (line.aux?.Digest) digest = line.aux.Digest;
      const fromStatus = /digest: (sha256:[0-9a-f]{64})/.exec(line.status ?? '');
      if (fromStatus) digest = fromStatus[1];
    },
    toError: (error) => pushError(error, object, target.registry),
  });
  return digest;
}

function pushError(error: unknown, object: string, registry: string): WharfError {
  const status = (error as { statusCode?: number }).statusCode;
  const message = error instanceof Error ? error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim() : String(error);
  if (/unauthorized|authentication required|no basic auth credentials/i.test(message)) {
    return new WharfError({ code: 'unauthorized', object, cause: message, remedy: `Sign in: docker login ${registry}, or set credentials for ${registry}`, inner: error });
  }
  if (/denied|forbidden/i.test(message)) {
    return new WharfError({ code: 'forbidden', object, cause: message, remedy: 'Use an account that may push there (the registry may be read-only)', inner: error });
  }
  if (status === 404 || /does not exist|no such image/i.test(message)) return new WharfError({ code: 'not-found', object, cause: message, remedy: 'Check the image name', inner: error });
  if (status && status >= 400) return new WharfError({ code: 'failed', object, cause: message, inner: error });
  return fromNetworkError(error, object, `Check that the engine answers and can reach ${registry}`);
}
