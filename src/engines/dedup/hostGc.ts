/**
 * Garbage collection of a host's pool: the plans of the named images, and with `keep` those beyond
 * the newest N versions of each repository, are dropped (named and ordered through this pool's
 * recipes, since the host knows plans only by fingerprint; plans this pool does not know are kept),
 * then every segment no remaining plan uses is freed. Refused while a sync to that pool runs, and
 * the other way round.
 */
import type { Client } from 'ssh2';
import { WharfError } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import { resolveSshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';
import { Pool, olderVersions, recipeFingerprint } from './pool';
import { RemotePool, type HostGcResult, type RemotePoolOptions } from './remote';

export interface HostGcOptions extends WorkOptions {
  /** The local pool, where image names are looked up. */
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

export async function gcHostPool(options: HostGcOptions): Promise<HostGcResult> {
  const pool = await Pool.open(options.poolDir);
  const drop: string[] = [];
  for (const ref of options.remove ?? []) {
    const recipe = await pool.findRecipe(ref);
    if (!recipe) throw new WharfError({ code: 'not-found', object: `image ${ref}`, cause: 'not in the local pool, so its plan on the host cannot be named', remedy: 'Give a tag or id that `wharf pool ls` lists; nothing was removed' });
    drop.push(recipeFingerprint(recipe.chunks));
  }
  const client = options.client ?? (await connectSsh(await resolveSshTarget(options.host, { configFile: options.sshConfigFile }), { ...options.ssh, signal: options.signal }));
  try {
    options.progress?.report({ message: `collecting garbage on ${options.host}` });
    const remote = new RemotePool(client, options.host, options.remote);
    if (options.keep !== undefined) {
      const held = await remote.plans(options);
      const onHost = (await pool.listRecipes()).filter((recipe) => held.has(recipeFingerprint(recipe.chunks)));
      for (const recipe of olderVersions(onHost, options.keep)) drop.push(recipeFingerprint(recipe.chunks));
    }
    return await remote.gc([...new Set(drop)], options);
  } finally {
    if (!options.client) client.end();
  }
}
