/**
 * The switchover, step by step (technique 75 done so that nothing is lost):
 *   start the new container beside the old → wait healthy → put its key → wait until the proxy
 *   applied it and serves it (probed through the proxy) → remove the old key → wait until applied
 *   → drain → stop the old container (kept for rollback) → record, apply retention.
 * Any failure before the old container is stopped rolls back: the new key is removed (and the
 * old one put back if it was removed), the proxy is waited for, the new container removed. The old
 * container is never touched until the very last step.
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { isWharfError, messageOf, WharfError } from '../core/errors';
import type { EtcdCluster } from '../etcd/cluster';
import { casPut, put } from '../etcd/edit';
import { pullImage } from '../docker/pull';
import { addressOf, appPort, cloneSpec, extraNetworks } from './containerSpec';
import { Timeline, type EventSink, type StepId, type StepState } from './events';
import { waitHealthy } from './health';
import { sleep } from './http';
import { appliedRevisionKey, statusPrefixOf, upstreamKey, type SwitchoverPlan } from './plan';
import { recordAndRetain, type Side, type SwitchoverRecord } from './record';
import { bodyOf, currentValue, revisionAfterDelete, waitApplied, waitServed } from './traffic';

export interface SwitchoverDeps {
  docker: Docker;
  cluster: EtcdCluster;
}

export interface RunOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
}

export interface SwitchoverResult {
  ok: boolean;
  /** True when a failure was rolled back (the old container serves as before). */
  rolledBack: boolean;
  error?: WharfError;
  /** The step that failed. */
  failedStep?: StepId;
  record?: SwitchoverRecord;
  steps: StepState[];
}

/** Reports a step's progress and keeps the timeline that the result carries. */
export class StepReporter {
  readonly timeline: Timeline;
  current: StepId | undefined;

  constructor(
    private readonly sink: EventSink | undefined,
    order?: StepId[],
  ) {
    this.timeline = new Timeline(order);
  }

  emit(step: StepId, status: StepState['status'], lines: string[] = []): void {
    const event = { step, status, lines, at: Date.now() };
    this.timeline.apply(event);
    try {
      this.sink?.(event);
    } catch {
      /* a broken listener must not break the switchover */
    }
  }

  async step<T>(step: StepId, work: (log: (line: string) => void) => Promise<T>): Promise<T> {
    this.current = step;
    this.emit(step, 'running');
    const log = (line: string) => this.emit(step, 'running', [line]);
    try {
      const value = await work(log);
      this.emit(step, 'done');
      return value;
    } catch (error) {
      this.emit(step, 'failed', [messageOf(error)]);
      throw error;
    }
  }
}

export function asWharfError(error: unknown, object: string): WharfError {
  return isWharfError(error) ? error : new WharfError({ code: 'failed', object, cause: messageOf(error), inner: error });
}

export const shortId = (id: string) => id.slice(0, 12);

/** State that a rollback needs: what has been done so far. */
interface Progress {
  newId?: string;
  newKeyPut?: boolean;
  oldKeyRemoved?: boolean;
  oldValue?: string;
}

export async function runSwitchover(plan: SwitchoverPlan, deps: SwitchoverDeps, options: RunOptions = {}): Promise<SwitchoverResult> {
  const { docker, cluster } = deps;
  const r = new StepReporter(options.onEvent);
  const statusPrefix = statusPrefixOf(plan);
  const statusKey = appliedRevisionKey(statusPrefix);
  const oldKey = upstreamKey(plan, plan.key);
  const done: Progress = {};
  let oldSide: Side | undefined;
  let newSide: Side | undefined;
  const probePath = plan.proxyPath ?? '/';
  try {
    await r.step('start-new', async (log) => {
      const info = await docker.getContainer(plan.container).inspect().catch((error) => {
        throw new WharfError({ code: 'not-found', object: `container ${plan.container}`, cause: messageOf(error), remedy: 'Name a running container of the app (docker ps)' });
      });
      if (!info.State.Running) throw new WharfError({ code: 'conflict', object: `container ${plan.container}`, cause: 'is not running', remedy: 'Start it first: a switchover replaces a running container' });
      const port = appPort(info, plan.port);
      if (!port) throw new WharfError({ code: 'bad-input', object: `container ${plan.container}`, cause: 'exposes no TCP port', remedy: 'Set "port" in the plan' });
      const oldAddress = addressOf(info, plan.address ?? 'published', port, plan.advertiseHost ?? '127.0.0.1');
      if (typeof oldAddress !== 'string') throw new WharfError({ code: 'bad-input', object: `container ${plan.container}`, cause: oldAddress.problem, remedy: 'Publish the port (-p 127.0.0.1::PORT) or use "address": "container"' });
      done.oldValue = await currentValue(cluster, oldKey);
      if (done.oldValue === undefined) log(`warning: ${oldKey} does not exist; the old container may not be behind the proxy`);
      else if (done.oldValue !== oldAddress) log(`warning: ${oldKey} = ${done.oldValue}, but the container is at ${oldAddress}`);
      const oldName = info.Name.replace(/^\//, '');
      log(`old: ${oldName} (${shortId(info.Id)}) ${info.Config.Image} at ${oldAddress}`);
      let newImage: Docker.ImageInspectInfo;
      try {
        newImage = await docker.getImage(plan.image).inspect();
      } catch {
        log(`pulling ${plan.image}`);
        await pullImage(docker, plan.image, { signal: options.signal });
        newImage = await docker.getImage(plan.image).inspect();
      }
      const oldImage = await docker.getImage(info.Image).inspect().catch(() => undefined);
      const name = plan.newName ?? `${plan.app}-${randomBytes(3).toString('hex')}`;
      const newKeyName = plan.newKey ?? name;
      const spec = cloneSpec(info, { image: plan.image, newImage, oldImage, name, app: plan.app, key: newKeyName });
      const created = await docker.createContainer(spec);
      done.newId = created.id;
      for (const network of extraNetworks(info)) await docker.getNetwork(network.name).connect({ Container: created.id, EndpointConfig: { Aliases: network.aliases } });
      await created.start();
      const newInfo = await created.inspect();
      const newAddress = addressOf(newInfo, plan.address ?? 'published', port, plan.advertiseHost ?? '127.0.0.1');
      if (typeof newAddress !== 'string') throw new WharfError({ code: 'failed', object: `container ${name}`, cause: newAddress.problem });
      log(`new: ${name} (${shortId(created.id)}) ${plan.image} at ${newAddress}`);
      oldSide = { id: info.Id, name: oldName, image: info.Config.Image, key: plan.key, address: oldAddress };
      newSide = { id: created.id, name, image: plan.image, key: newKeyName, address: newAddress };
      return info;
    });
    const target = newSide!;
    const source = oldSide!;
    await r.step('health', (log) => waitHealthy(plan.health, { docker, containerId: target.id, address: target.address }, log, options.signal));
    const putRevision = await r.step('put-key', async (log) => {
      // Create-only: never overwrite a key someone else owns.
      const result = await casPut(cluster, upstreamKey(plan, target.key), Buffer.from(target.address), '0');
      done.newKeyPut = true;
      log(`${upstreamKey(plan, target.key)} = ${target.address} at revision ${result.modRevision}`);
      return result.modRevision;
    });
    await r.step('proxy-serves', async (log) => {
      await waitApplied(cluster, statusKey, putRevision, plan.proxyWithinMs, log, options.signal);
      const [newBody, oldBody] = await Promise.all([bodyOf(target.address, probePath), bodyOf(source.address, probePath)]);
      const distinct = newBody !== undefined && newBody !== oldBody;
      if (!distinct) log(`old and new answer the same at ${probePath}: checking 2xx through the proxy only`);
      await waitServed({ proxyUrl: plan.proxyUrl, path: probePath, targetBody: distinct ? newBody : undefined, mode: 'some', withinMs: plan.proxyWithinMs }, log, options.signal);
    });
    await r.step('remove-old-key', async (log) => {
      const { deleted, revision } = await revisionAfterDelete(cluster, oldKey);
      done.oldKeyRemoved = deleted;
      log(deleted ? `deleted ${oldKey} at revision ${revision}` : `${oldKey} was already gone`);
      await waitApplied(cluster, statusKey, revision, plan.proxyWithinMs, log, options.signal);
    });
    await r.step('drain', async (log) => {
      log(`giving in-flight requests on ${source.address} ${plan.drainMs} ms`);
      await sleep(plan.drainMs, options.signal);
      const newBody = await bodyOf(target.address, probePath);
      const oldBody = await bodyOf(source.address, probePath);
      const distinct = newBody !== undefined && newBody !== oldBody;
      await waitServed({ proxyUrl: plan.proxyUrl, path: probePath, targetBody: distinct ? newBody : undefined, mode: 'all', withinMs: plan.proxyWithinMs }, log, options.signal);
    });
    await r.step('stop-old', async (log) => {
      await docker.getContainer(source.id).stop({ t: plan.stopTimeoutSeconds }).catch((error) => {
        if ((error as { statusCode?: number }).statusCode !== 304) throw error;
      });
      log(`stopped ${source.name}; kept for rollback`);
    });
  } catch (error) {
    const failure = asWharfError(error, `switchover of ${plan.app}`);
    const failedStep = r.current;
    await rollbackPartial(plan, deps, done, r, statusKey, oldKey, newSide);
    return { ok: false, rolledBack: true, error: failure, failedStep, steps: r.timeline.list() };
  }
  const record: SwitchoverRecord = { app: plan.app, at: new Date().toISOString(), prefix: plan.prefix, old: oldSide!, new: newSide! };
  try {
    await r.step('retention', (log) => recordAndRetain(cluster, docker, statusPrefix, record, plan.retention, log));
  } catch (error) {
    // Traffic has moved; only the bookkeeping failed. Say so, do not undo a good switch.
    return { ok: true, rolledBack: false, error: asWharfError(error, `switchover record of ${plan.app}`), failedStep: 'retention', record, steps: r.timeline.list() };
  }
  return { ok: true, rolledBack: false, record, steps: r.timeline.list() };
}

/** Undoes what a failed run did, newest first; the old container was never touched. */
async function rollbackPartial(plan: SwitchoverPlan, deps: SwitchoverDeps, done: Progress, r: StepReporter, statusKey: string, oldKey: string, newSide: Side | undefined): Promise<void> {
  const { docker, cluster } = deps;
  await r
    .step('rollback', async (log) => {
      let revision: string | undefined;
      if (done.oldKeyRemoved && done.oldValue) {
        revision = (await put(cluster, oldKey, Buffer.from(done.oldValue))).modRevision;
        log(`put back ${oldKey} = ${done.oldValue}`);
        // Wait for the old backend to be served again before taking the new one away.
        await waitApplied(cluster, statusKey, revision, plan.proxyWithinMs, log);
      }
      if (done.newKeyPut && newSide) {
        const removed = await revisionAfterDelete(cluster, upstreamKey(plan, newSide.key));
        log(`removed ${upstreamKey(plan, newSide.key)}`);
        await waitApplied(cluster, statusKey, removed.revision, plan.proxyWithinMs, log).catch((error) => log(`warning: ${messageOf(error)}`));
        // Requests already sent to the new backend finish before it goes.
        await sleep(plan.drainMs);
      }
      if (done.newId) {
        await docker.getContainer(done.newId).remove({ force: true });
        log(`removed the new container ${newSide?.name ?? shortId(done.newId)}`);
      }
      log('the old container was not touched');
    })
    .catch(() => undefined);
}
