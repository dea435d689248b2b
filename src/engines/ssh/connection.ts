/**
 * Opens an ssh2 connection to a host, directly or through its ProxyJump hosts. Each jump is a
 * handshake of its own (its own known_hosts check and auth, from the same ssh config); the next
 * hop runs over a channel the previous one forwarded. Closing the returned client closes the jumps.
 */
import type { Client } from 'ssh2';
import { WharfError, throwIfCancelled } from '../core/errors';
import type { SshTarget } from './config';
import { handshake, type SshConnectOptions } from './handshake';
import { MAX_HOPS, forwardTo, resolveHops } from './jump';

export type { SshConnectOptions } from './handshake';

const jumpsByClient = new WeakMap<Client, Client[]>();

/** The jump hosts' connections behind a client, first hop first (empty for a direct one). */
export function jumpsOf(client: Client): Client[] {
  return jumpsByClient.get(client) ?? [];
}

export async function connectSsh(target: SshTarget, options: SshConnectOptions = {}): Promise<Client> {
  return connectVia(target, options, `SSH host ${target.name}`, [target.name]);
}

async function connectVia(target: SshTarget, options: SshConnectOptions, object: string, seen: string[]): Promise<Client> {
  const hops = await resolveHops(target, object);
  if (hops.length === 0) return handshake(target, options, object);
  const where = target.configFile ?? '~/.ssh/config';
  if (seen.includes(hops[0].name)) {
    throw new WharfError({ code: 'bad-input', object, cause: `ProxyJump loops back to ${hops[0].name}`, remedy: `Fix ProxyJump in ${where} (ProxyJump none for the jump host ends the chain)` });
  }
  if (seen.length + hops.length > MAX_HOPS) {
    throw new WharfError({ code: 'bad-input', object, cause: `more than ${MAX_HOPS} ProxyJump hops`, remedy: `Shorten the ProxyJump chain in ${where}` });
  }
  const jumpObject = (hop: SshTarget) => `SSH jump host ${hop.name} (ProxyJump of ${target.name})`;
  // The first hop may have a ProxyJump of its own (as with ssh -J); the later ones are reached through it.
  let previous = await connectVia(hops[0], options, jumpObject(hops[0]), [...seen, hops[0].name]);
  let previousName = hops[0].name;
  const chain = [...jumpsOf(previous), previous];
  try {
    for (const next of [...hops.slice(1), target]) {
      throwIfCancelled(options.signal, object);
      // A jump's own failures end the forwarded channel, which the client above reports as its close.
      previous.on('error', () => undefined);
      const nextObject = next === target ? object : jumpObject(next);
      const channel = await forwardTo(previous, previousName, next, nextObject);
      const client = await handshake(next, options, nextObject, channel);
      const below = previous;
      client.once('close', () => below.end());
      chain.push(client);
      previous = client;
      previousName = next.name;
    }
  } catch (error) {
    previous.end(); // closes every hop below it, one close at a time
    throw error;
  }
  jumpsByClient.set(previous, chain.slice(0, -1));
  return previous;
}
