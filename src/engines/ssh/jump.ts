/**
 * ProxyJump, the pieces: the hop list as ssh_config(5) writes it, and the forwarded channel
 * (direct-tcpip) a connected jump host opens to the next hop.
 */
import type { Client, ClientChannel } from 'ssh2';
import { WharfError, messageOf } from '../core/errors';
import { resolveSshTarget, type SshTarget } from './config';

/** OpenSSH's own limit on nested jumps is generous; a loop is what this really catches. */
export const MAX_HOPS = 8;

/**
 * `A,B` → ['A', 'B']. Each hop is `[user@]host[:port]` or `ssh://[user@]host[:port]`; a port is
 * turned into the URL form, which resolveSshTarget reads.
 */
export function parseProxyJump(value: string | undefined, object: string): string[] {
  if (!value || value.toLowerCase() === 'none') return [];
  return value.split(',').map((hop) => {
    const text = hop.trim();
    if (text.startsWith('ssh://')) return text;
    const match = /^(?:(.+)@)?([^@:\s[\]]+|\[[^\]]+\])(?::(\d+))?$/.exec(text);
    if (!match) {
      throw new WharfError({ code: 'bad-input', object, cause: `ProxyJump hop "${text}" is not [user@]host[:port]`, remedy: 'Fix ProxyJump in your ssh config' });
    }
    const [, user, host, port] = match;
    return port ? `ssh://${user ? `${encodeURIComponent(user)}@` : ''}${host}:${port}` : text;
  });
}

/** The hops of TARGET's ProxyJump, each resolved through the same ssh config. */
export async function resolveHops(target: SshTarget, object: string): Promise<SshTarget[]> {
  const hops = parseProxyJump(target.proxyJump, object);
  return Promise.all(
    hops.map(async (hop, index) => {
      const resolved = await resolveSshTarget(hop, { configFile: target.configFile });
      // OpenSSH runs `ssh -J A B` for A,B: only the first hop's own ProxyJump applies.
      return { ...resolved, name: hop.replace(/^ssh:\/\//, ''), proxyJump: index === 0 ? resolved.proxyJump : undefined };
    }),
  );
}

/** Asks JUMP to open a TCP connection to NEXT (what `ssh -W host:port` does). */
export function forwardTo(jump: Client, jumpName: string, next: SshTarget, object: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, next.host, next.port, (error, channel) => {
      if (!error) return resolve(channel);
      reject(
        new WharfError({
          code: 'unreachable',
          object,
          cause: `the jump host ${jumpName} could not connect to ${next.host}:${next.port} (${messageOf(error)})`,
          remedy: `Check that ${jumpName} reaches ${next.host}:${next.port} and allows TCP forwarding (AllowTcpForwarding)`,
          inner: error,
        }),
      );
    });
  });
}
