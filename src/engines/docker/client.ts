/** Builds a dockerode client for an endpoint. TLS files are read here, once. */
import Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WharfError, fromNetworkError, messageOf } from '../core/errors';
import type { Logger } from '../core/progress';
import { resolveSshTarget } from '../ssh/config';
import type { SshConnectOptions } from '../ssh/connection';
import type { EngineEndpoint } from './endpoint';
import { DialStdioAgent, SshDialer } from './sshDial';

export interface EngineConnectOptions {
  /** The OpenSSH client config for ssh:// aliases (default ~/.ssh/config). */
  sshConfigFile?: string;
  /** SSH prompts (unknown host key, passphrase); without them an unknown key is refused. */
  ssh?: SshConnectOptions;
  log?: Logger;
}

/** The SSH dialer behind an ssh:// client, so callers can close the connection and count handshakes. */
const dialers = new WeakMap<Docker, SshDialer>();

export function sshDialerOf(docker: Docker): SshDialer | undefined {
  return dialers.get(docker);
}

/** Releases what a client holds open: for ssh://, its one SSH connection. */
export function closeEngine(docker: Docker): void {
  const dialer = dialers.get(docker);
  if (!dialer) return;
  dialers.delete(docker);
  ((docker.modem as unknown as { agent?: DialStdioAgent }).agent)?.destroy();
  dialer.dispose();
}

export async function connectEngine(endpoint: EngineEndpoint, options: EngineConnectOptions = {}): Promise<Docker> {
  switch (endpoint.kind) {
    case 'unix':
      return new Docker({ socketPath: endpoint.socketPath });
    case 'tcp': {
      if (!endpoint.tls) return new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'http' });
      const dir = endpoint.tls.certDir;
      const verify = endpoint.tls.verify;
      // With verification on, a missing file is an error now, not a vague handshake failure later.
      const read = async (file: string) => {
        if (!dir) return undefined;
        try {
          return await readFile(path.join(dir, file));
        } catch (error) {
          if (!verify) return undefined;
          throw new WharfError({ code: 'tls', object: `engine ${endpoint.label}`, cause: `cannot read ${path.join(dir, file)} (${messageOf(error)})`, remedy: 'Point DOCKER_CERT_PATH at the folder with ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY' });
        }
      };
      // Read together, reported in order: the first missing file of ca, cert, key is the one named.
      const settled = await Promise.allSettled([read('ca.pem'), read('cert.pem'), read('key.pem')]);
      for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
      const [ca, cert, key] = settled.map((outcome) => (outcome as PromiseFulfilledResult<Buffer | undefined>).value);
      return new Docker({
        host: endpoint.host,
        port: endpoint.port,
        protocol: 'https',
        ca,
        cert,
        key,
        // Docker's own rule: without DOCKER_TLS_VERIFY the connection is encrypted but unchecked.
        ...(endpoint.tls.verify ? {} : { rejectUnauthorized: false }),
      } as Docker.DockerOptions);
    }
    case 'ssh': {
      // The URL goes through ssh_config, so an alias gets its HostName, User, IdentityFile and known_hosts.
      const target = await resolveSshTarget(endpoint.url, { configFile: options.sshConfigFile });
      const dialer = new SshDialer(target, options.ssh, options.log);
      const docker = new Docker({ protocol: 'http', host: 'localhost', port: 80, agent: new DialStdioAgent(dialer) } as Docker.DockerOptions);
      dialers.set(docker, dialer);
      return docker;
    }
  }
}

export interface EngineInfo {
  endpoint: string;
  version: string;
  apiVersion: string;
  os: string;
  storageDriver?: string;
}

/** Pings the engine and reads its version: the cheapest proof it answers. */
export async function probeEngine(docker: Docker, endpoint: EngineEndpoint): Promise<EngineInfo> {
  try {
    const version = await docker.version();
    const info = (await docker.info()) as { Driver?: string };
    return {
      endpoint: endpoint.label,
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: `${version.Os}/${version.Arch}`,
      storageDriver: info.Driver,
    };
  } catch (error) {
    throw fromNetworkError(error, `engine ${endpoint.label}`, 'Start Docker, or choose another engine (--host, DOCKER_HOST or wharf.engines)');
  }
}
