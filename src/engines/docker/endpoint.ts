/**
 * Where a Docker engine is: parsed once from a flag, DOCKER_HOST, a docker context or the default
 * socket, in that order (the docker CLI's own order), so every front end reaches the same engine.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WharfError } from '../core/errors';

export type EngineEndpoint =
  | { kind: 'unix'; socketPath: string; label: string }
  | { kind: 'tcp'; host: string; port: number; tls?: TlsFiles; label: string }
  | { kind: 'ssh'; user?: string; host: string; port: number; label: string; /** as given, so ssh_config fills in what it leaves out */ url: string };

export interface TlsFiles {
  /** Folder with ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH or a context's tls folder). */
  certDir?: string;
  /** false when DOCKER_TLS_VERIFY is unset: encrypt but do not check the server. */
  verify: boolean;
}

export interface EndpointSource {
  /** `--host` / a configured URL. */
  host?: string;
  /** `--context` / a configured context name. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** ~/.docker, overridable for tests. */
  dockerConfigDir?: string;
}

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export async function resolveEndpoint(source: EndpointSource = {}): Promise<EngineEndpoint> {
  const env = source.env ?? process.env;
  const configDir = source.dockerConfigDir ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  if (source.host) return parseHost(source.host, tlsFromEnv(env));
  if (source.context) return fromContext(source.context, configDir);
  if (env.DOCKER_HOST) return parseHost(env.DOCKER_HOST, tlsFromEnv(env));
  const contextName = env.DOCKER_CONTEXT ?? (await currentContext(configDir));
  if (contextName && contextName !== 'default') return fromContext(contextName, configDir);
  return { kind: 'unix', socketPath: DEFAULT_SOCKET, label: `unix://${DEFAULT_SOCKET}` };
}

function tlsFromEnv(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0');
  if (!verify && !env.DOCKER_CERT_PATH) return undefined;
  return { certDir: env.DOCKER_CERT_PATH ?? path.join(os.homedir(), '.docker'), verify };
}

/** Parses a DOCKER_HOST-style URL: unix:///path, tcp://host:port, ssh://user@host:port. */
export function parseHost(url: string, tls?: TlsFiles): EngineEndpoint {
  const bad = (cause: string) =>
    new WharfError({
      code: 'bad-input',
      object: `engine address "${url}"`,
      cause,
      remedy: 'Use unix:///path/to/docker.sock, tcp://host:2376 or ssh://user@host',
    });
  if (url.startsWith('/')) return { kind: 'unix', socketPath: url, label: `unix://${url}` };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('not a URL');
  }
  switch (parsed.protocol) {
    case 'unix:': {
      const socketPath = decodeURIComponent(parsed.pathname);
      if (!socketPath) throw bad('no socket path');
      return { kind: 'unix', socketPath, label: `unix://${socketPath}` };
    }
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const secure = parsed.protocol === 'https:' || Boolean(tls);
      const port = Number(parsed.port || (secure ? 2376 : 2375));
      if (!parsed.hostname) throw bad('no host name');
      return {
        kind: 'tcp',
        host: parsed.hostname,
        port,
        tls: secure ? (tls ?? { verify: true }) : undefined,
        label: `tcp://${parsed.hostname}:${port}`,
      };
    }
    case 'ssh:': {
      if (!parsed.hostname) throw bad('no host name');
      const port = Number(parsed.port || 22);
      const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
      return { kind: 'ssh', user, host: parsed.hostname, port, url, label: `ssh://${user ? `${user}@` : ''}${parsed.hostname}:${port}` };
    }
    default:
      throw bad(`unsupported scheme ${parsed.protocol.replace(/:$/, '')}`);
  }
}

async function currentContext(configDir: string): Promise<string | undefined> {
  try {
    const config = JSON.parse(await readFile(path.join(configDir, 'config.json'), 'utf8')) as { currentContext?: string };
    return config.currentContext;
  } catch {
    return undefined;
  }
}

/** Docker stores a context under the SHA-256 of its name, with TLS files in a sibling folder. */
async function fromContext(name: string, configDir: string): Promise<EngineEndpoint> {
  if (name === 'default') return { kind: 'unix', socketPath: DEFAULT_SOCKET, label: `unix://${DEFAULT_SOCKET}` };
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = path.join(configDir, 'contexts', 'meta', id, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8'));
  } catch {
    throw new WharfError({
      code: 'not-found',
      object: `docker context "${name}"`,
      cause: 'no such context',
      remedy: 'Run `docker context ls` to see the contexts, or pick another engine',
    });
  }
  const docker = meta.Endpoints?.docker;
  if (!docker?.Host) {
    throw new WharfError({ code: 'bad-input', object: `docker context "${name}"`, cause: 'it has no docker endpoint' });
  }
  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
  const tls: TlsFiles | undefined = docker.Host.startsWith('tcp:')
    ? { certDir: tlsDir, verify: !docker.SkipTLSVerify }
    : undefined;
  const endpoint = parseHost(docker.Host, tls);
  return { ...endpoint, label: `${name} (${endpoint.label})` } as EngineEndpoint;
}
