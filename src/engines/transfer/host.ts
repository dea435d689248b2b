/** Opens an SSH host for a transfer: an alias from ssh_config or ssh://user@host:port. */
import type { Client } from 'ssh2';
import { resolveSshTarget, type SshTarget } from '../ssh/config';
import { connectSsh, type SshConnectOptions } from '../ssh/connection';

export interface HostSpec {
  /** An alias from the ssh config, or ssh://user@host:port. */
  host: string;
  /** The OpenSSH client config (default ~/.ssh/config). */
  configFile?: string;
  ssh?: SshConnectOptions;
}

export interface OpenHost {
  client: Client;
  target: SshTarget;
  /** The name to show: what the user typed. */
  name: string;
  close(): void;
}

export async function openHost(spec: HostSpec, signal?: AbortSignal): Promise<OpenHost> {
  const target = await resolveSshTarget(spec.host, { configFile: spec.configFile });
  const client = await connectSsh(target, { ...spec.ssh, signal: spec.ssh?.signal ?? signal });
  return { client, target, name: spec.host, close: () => client.end() };
}
