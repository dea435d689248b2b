/** Builds a dockerode client for an endpoint. TLS files are read here, once. */
import Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WharfError, fromNetworkError } from '../core/errors';
import type { EngineEndpoint } from './endpoint';

export async function connectEngine(endpoint: EngineEndpoint): Promise<Docker> {
  switch (endpoint.kind) {
    case 'unix':
      return new Docker({ socketPath: endpoint.socketPath });
    case 'tcp': {
      if (!endpoint.tls) return new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'http' });
      const dir = endpoint.tls.certDir;
      const read = async (file: string) => (dir ? readFile(path.join(dir, file)).catch(() => undefined) : undefined);
      const [ca, cert, key] = await Promise.all([read('ca.pem'), read('cert.pem'), read('key.pem')]);
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
    case 'ssh':
      throw new WharfError({
        code: 'unsupported',
        object: endpoint.label,
        cause: 'engines over ssh:// are not available yet',
        remedy: 'Forward the socket (ssh -L) and use unix:// or tcp://, or add the host as an SSH host',
      });
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
