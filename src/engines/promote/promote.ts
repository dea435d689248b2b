/**
 * Promotion: one entry for the CLI and the editor. It picks the way (registry to registry when the
 * source is in a registry, through the engine for images only the engine has; the caller may force
 * either), runs the gate before anything is pushed, and records the promotion.
 */
import type Docker from 'dockerode';
import { WharfError, isWharfError, throwIfCancelled } from '../core/errors';
import { silentLogger, silentProgress, type WorkOptions } from '../core/progress';
import { RegistryClient } from '../registry/client';
import type { CredentialSource } from '../registry/credentials';
import { familiarReference, formatReference, manifestRef, parseReference, type Reference } from '../registry/reference';
import { copyImage, type BlobEvent, type CopySummary } from './copy';
import { promoteViaEngine, type EngineStep } from './engine';
import { runGate, type Gate } from './gate';
import { appendPromotion, currentUser, type PromotionRecord } from './record';

export type PromoteWay = 'registry' | 'engine';

export interface PromoteRequest extends WorkOptions {
  source: string;
  target: string;
  via?: PromoteWay | 'auto';
  platforms?: string[];
  credentials?: CredentialSource;
  /** Connects to the engine, only when the engine path is taken (or to look for a local image). */
  docker?: () => Promise<Docker>;
  gate?: Gate;
  /** Stage name, for the record. */
  stage?: string;
  /** Workspace folder: the promotion is appended to <dir>/.wharf/promotions.jsonl. */
  recordIn?: string;
  who?: string;
  parallel?: number;
  /** Engine path: remove the pulled source tag and prune dangling images (default true). */
  cleanup?: boolean;
  onBlob?: (event: BlobEvent) => void;
  /** Reuse clients (and their tokens) across promotions; keyed by registry name. */
  clients?: Map<string, RegistryClient>;
}

export interface PromoteResult {
  via: PromoteWay;
  source: string;
  target: string;
  sourceDigest?: string;
  digest?: string;
  /** Registry path only. */
  summary?: CopySummary;
  /** Engine path only. */
  steps?: EngineStep[];
  gate?: string;
  recordFile?: string;
}

function client(request: PromoteRequest, registry: string): RegistryClient {
  const cache = request.clients;
  const existing = cache?.get(registry);
  if (existing) return existing;
  const created = new RegistryClient({ registry, credentials: request.credentials, log: request.log, onWait: (seconds, reason) => request.progress?.report({ message: `${reason}: waiting ${seconds} s` }) });
  cache?.set(registry, created);
  return created;
}

async function engineHas(request: PromoteRequest, name: string): Promise<boolean> {
  if (!request.docker) return false;
  try {
    const docker = await request.docker();
    await docker.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Decides the way: the registry when it has the source, else the engine when it has it. */
export async function chooseWay(request: PromoteRequest, source: Reference): Promise<{ way: PromoteWay; sourceDigest?: string }> {
  if (request.via === 'engine') return { way: 'engine' };
  const sourceClient = client(request, source.registry);
  if (request.via === 'registry') return { way: 'registry' };
  // Auto: a name without a registry host is most often a local build ("app:1").
  if (!source.explicitRegistry && (await engineHas(request, request.source))) return { way: 'engine' };
  try {
    const head = await sourceClient.headManifest(source.repository, manifestRef(source), request.signal);
    if (head) return { way: 'registry', sourceDigest: head.digest };
  } catch (error) {
    if (isWharfError(error, 'cancelled')) throw error;
    // Unreachable registry: fall through to the engine if it has the image.
    if (!(await engineHas(request, request.source))) throw error;
    return { way: 'engine' };
  }
  if (await engineHas(request, request.source)) return { way: 'engine' };
  throw new WharfError({
    code: 'not-found',
    object: formatReference(source),
    cause: request.docker ? 'neither the registry nor the engine has this image' : 'the registry has no such image',
    remedy: 'Check the repository and tag (wharf registry tags REPO), or build/pull it first',
  });
}

export async function promote(request: PromoteRequest): Promise<PromoteResult> {
  const progress = request.progress ?? silentProgress;
  const log = request.log ?? silentLogger;
  const source = parseReference(request.source);
  const target = parseReference(request.target);
  if (!target.explicitRegistry && target.registry === 'docker.io' && !request.target.startsWith('docker.io/')) {
    // "team/app:1" as a target is almost always a forgotten registry, not Docker Hub.
    throw new WharfError({ code: 'bad-input', object: `target "${request.target}"`, cause: 'names no registry', remedy: 'Write the target with its registry: registry.example.com/team/app:1 (or docker.io/team/app:1 for Docker Hub)' });
  }
  if (target.digest) throw new WharfError({ code: 'bad-input', object: `target "${request.target}"`, cause: 'a target cannot be a digest: promotion sets a tag', remedy: 'Give the target a tag' });
  if (formatReference(source) === formatReference(target)) {
    throw new WharfError({ code: 'bad-input', object: formatReference(target), cause: 'source and target are the same', remedy: 'Pick another registry, repository or tag' });
  }

  progress.report({ message: `checking ${formatReference(source)}` });
  const { way, sourceDigest } = await chooseWay(request, source);
  log.info(`promote ${formatReference(source)} → ${formatReference(target)} via ${way}`);

  let gate: string | undefined;
  if (request.gate) {
    progress.report({ message: 'running the gate' });
    gate = await runGate(request.gate, { source: formatReference(source), target: formatReference(target), digest: sourceDigest, signal: request.signal });
    log.info(gate);
  }
  throwIfCancelled(request.signal, formatReference(target));

  let result: PromoteResult;
  if (way === 'registry') {
    const summary = await copyImage({
      source,
      target,
      sourceClient: client(request, source.registry),
      targetClient: client(request, target.registry),
      platforms: request.platforms,
      parallel: request.parallel,
      signal: request.signal,
      progress,
      log,
      onBlob: request.onBlob,
    });
    result = { via: way, source: summary.source, target: summary.target, sourceDigest: summary.sourceDigest, digest: summary.digest, summary, gate };
  } else {
    if (!request.docker) throw new WharfError({ code: 'unsupported', object: formatReference(source), cause: 'the engine path needs an engine', remedy: 'Give an engine (--host), or use --via registry' });
    if (request.platforms?.length) throw new WharfError({ code: 'bad-input', object: '--platform', cause: 'platform filtering works only registry to registry', remedy: 'Use --via registry' });
    const docker = await request.docker();
    const engineSource = source.explicitRegistry ? familiarReference(source) : request.source;
    const outcome = await promoteViaEngine({
      docker,
      source: engineSource,
      sourceRef: source.explicitRegistry || !(await engineHas(request, request.source)) ? source : undefined,
      target,
      credentials: request.credentials,
      cleanup: request.cleanup,
      signal: request.signal,
      progress,
      log,
    });
    result = { via: way, source: engineSource, target: outcome.target, digest: outcome.digest, sourceDigest, steps: outcome.steps, gate };
  }

  if (request.recordIn) {
    const record: PromotionRecord = {
      time: new Date().toISOString(),
      who: request.who ?? currentUser(),
      source: result.source,
      sourceDigest: result.sourceDigest,
      target: result.target,
      targetDigest: result.digest,
      via: way,
      stage: request.stage,
      gate,
      copied: result.summary?.copied,
      skipped: result.summary?.skipped,
      mounted: result.summary?.mounted,
      bytes: result.summary?.bytes,
    };
    result.recordFile = await appendPromotion(request.recordIn, record);
  }
  return result;
}
