// The lab's endpoints file: the one thing tests, benchmarks and `npm run lab` read.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface RegistryEndpoint {
  /** host:port, as it appears in image names */
  address: string;
  url: string;
  storage: string;
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  pid: number;
  dataDir: string;
}

export interface LabEndpoints {
  version: 1;
  root: string;
  startedAt: string;
  /** how long the start took */
  startMs: number;
  docker: {
    /** external = the user's own engine: tests must refuse to run against it */
    local: {
      host: string;
      socket: string;
      external: boolean;
      bridge?: string;
      pid?: number;
      /** The same engine over tcp:// with dockerd --tlsverify (the lab's own engine only). */
      tls?: { host: string; certPath: string; otherCaPath: string };
    };
    /** for test oracles only; Wharf reaches this engine over SSH */
    remote: { host: string; socket: string; netns: string; pid: number };
  };
  registries: { test: RegistryEndpoint; stage: RegistryEndpoint };
  etcd: { endpoints: string[]; members: EtcdMember[]; token: string };
  ssh: {
    alias: string;
    host: string;
    port: number;
    user: string;
    identityFile: string;
    knownHosts: string;
    configFile: string;
    url: string;
    /** tc rate on the link to the remote host, when shaped */
    slowLink?: string;
  };
  nginx: { url: string; configFile: string; prefix: string; pidFile: string; upstreamsDir: string };
  images: { busybox: string; registryBusybox: string };
}

export function endpointsFile(root: string): string {
  return path.join(root, 'endpoints.json');
}

/** Where stop keeps the last endpoints, so the next start can ask for the same ports again. */
export function lastEndpointsFile(root: string): string {
  return path.join(root, 'run', 'last-endpoints.json');
}

export async function readEndpointsFile(root: string, file = endpointsFile(root)): Promise<LabEndpoints | undefined> {
  try {
    const e = JSON.parse(await fs.readFile(file, 'utf8')) as LabEndpoints;
    return e.version === 1 ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Written atomically: a reader never sees half a file. */
export async function writeEndpointsFile(e: LabEndpoints): Promise<void> {
  const file = endpointsFile(e.root);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(e, null, 2) + '\n');
  await fs.rename(tmp, file);
}
