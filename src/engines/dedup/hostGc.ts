/**
 * Garbage collection of a host's pool: the plans of the named images, and with `keep` those beyond
 * the newest N versions of each repository, are dropped, then every segment no remaining plan uses
 * is freed. Plans are named by what their sync left beside them on the host (any machine's sync),
 * else through this pool's recipes; a plan named neither way is kept. Refused while a sync to that
 * pool runs, and the other way round.
 */
import type { Client } from 'ssh2';
import { WharfError } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { resolveSshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';
import { Pool, namesImage, olderVersions, recipeFingerprint } from './pool';
import { RemotePool, type HostGcResult, type HostPlanNames, type RemotePoolOptions } from './remote';

export interface HostGcOptions extends WorkOptions {
  /** The local pool, where plans without names on the host are looked up. */
  poolDir: string;
  host: string;
  sshConfigFile?: string;
  ssh?: SshConnectOptions;
  remote?: RemotePoolOptions;
  /** Images (tag, id or id prefix) whose plans the host drops. */
  remove?: string[];
  /** Keep only the newest N versions of each repository on the host. */
  keep?: number;
  client?: Client;
}

interface NamedPlan extends HostPlanNames {
  fingerprint: string;
}

export async function gcHostPool(options: HostGcOptions): Promise<HostGcResult> {
  const pool = await Pool.open(options.poolDir);
  const client = options.client ?? (await connectSsh(await resolveSshTarget(options.host, { configFile: options.sshConfigFile }), { ...options.ssh, signal: options.signal }));
  try {
    options.progress?.report({ message: `collecting garbage on ${options.host}` });
    const remote = new RemotePool(client, options.host, options.remote);
    const held = await remote.plans(options);
    const named = await namePlans(held, pool);
    const drop: string[] = [];
    for (const ref of options.remove ?? []) {
      // The newest plan by that name, as `docker rmi TAG` removes what the tag names now.
      const fingerprint = named.find((plan) => namesImage(plan, ref))?.fingerprint;
      if (!fingerprint) {
        throw new WharfError({ code: 'not-found', object: `image ${ref}`, cause: `no image synced to ${options.host} goes by that name`, remedy: 'Give a tag or id of an image synced there (`wharf pool ls` lists this machine\'s); nothing was removed' });
      }
      drop.push(fingerprint);
    }
    if (options.keep !== undefined) for (const plan of olderVersions(named, options.keep)) drop.push(plan.fingerprint);
    return await remote.gc([...new Set(drop)], options);
  } finally {
    if (!options.client) client.end();
  }
}

/** The host's plans with names, newest first: the host's own record, else this pool's recipe. */
async function namePlans(held: Map<string, HostPlanNames | undefined>, pool: Pool): Promise<NamedPlan[]> {
  const local = new Map((await pool.listRecipes()).map((recipe) => [recipeFingerprint(recipe.chunks), recipe]));
  const named: NamedPlan[] = [];
  for (const [fingerprint, names] of held) {
    const known = names ?? local.get(fingerprint);
    if (known) named.push({ fingerprint, createdAt: known.createdAt, imageId: known.imageId, tags: known.tags });
  }
  return named.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
