/**
 * The naive recreate that a zero-downtime switchover avoids, kept for the tests and the bench to
 * measure against: stop the old container, start the new one, point the app's key at it.
 * Between the stop and the proxy picking up the new address, requests fail.
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { put } from '../etcd/edit';
import { addressOf, appPort, cloneSpec } from './containerSpec';
import { appliedRevisionKey, statusPrefixOf, upstreamKey, type SwitchoverPlan } from './plan';
import type { SwitchoverDeps } from './run';
import { waitApplied } from './traffic';

export async function naiveRecreate(plan: SwitchoverPlan, deps: SwitchoverDeps): Promise<{ id: string; address: string }> {
  const { docker, cluster } = deps;
  const old = await docker.getContainer(plan.container).inspect();
  await docker.getContainer(old.Id).stop({ t: plan.stopTimeoutSeconds }).catch(() => undefined);
  const newImage: Docker.ImageInspectInfo = await docker.getImage(plan.image).inspect();
  const name = plan.newName ?? `${plan.app}-${randomBytes(3).toString('hex')}`;
  const created = await docker.createContainer(cloneSpec(old, { image: plan.image, newImage, name, app: plan.app, key: plan.key }));
  await created.start();
  const port = appPort(old, plan.port)!;
  const address = addressOf(await created.inspect(), plan.address ?? 'published', port, plan.advertiseHost ?? '127.0.0.1');
  if (typeof address !== 'string') throw new Error(address.problem);
  const { modRevision } = await put(cluster, upstreamKey(plan, plan.key), Buffer.from(address));
  await waitApplied(cluster, appliedRevisionKey(statusPrefixOf(plan)), modRevision, plan.proxyWithinMs, () => undefined);
  return { id: created.id, address };
}
