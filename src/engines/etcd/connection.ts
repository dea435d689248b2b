/**
 * Where an etcd cluster is and how to authenticate: flags first, then etcdctl's own environment
 * (ETCDCTL_ENDPOINTS, ETCDCTL_USER, ETCDCTL_CACERT/CERT/KEY), so scripts and the editor agree.
 */
import { Etcd3, type IOptions } from 'etcd3';
import { readFile } from 'node:fs/promises';
import { WharfError } from '../core/errors';

export interface ClusterConfig {
  name: string;
  endpoints: string[];
  username?: string;
  /** Never stored in settings: the editor takes it from SecretStorage, the CLI from the environment. */
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export function clusterFromEnv(env: NodeJS.ProcessEnv = process.env, endpointsFlag?: string): ClusterConfig {
  const raw = endpointsFlag ?? env.ETCDCTL_ENDPOINTS;
  if (!raw) {
    throw new WharfError({
      code: 'bad-input',
      object: 'etcd cluster',
      cause: 'no endpoints given',
      remedy: 'Pass --endpoints host:2379,... or set ETCDCTL_ENDPOINTS',
    });
  }
  const [username, password] = splitUser(env.ETCDCTL_USER);
  return {
    name: 'default',
    endpoints: parseEndpoints(raw),
    username,
    password: password ?? env.ETCDCTL_PASSWORD,
    caFile: env.ETCDCTL_CACERT,
    certFile: env.ETCDCTL_CERT,
    keyFile: env.ETCDCTL_KEY,
  };
}

function splitUser(value: string | undefined): [string | undefined, string | undefined] {
  if (!value) return [undefined, undefined];
  const at = value.indexOf(':');
  return at < 0 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
}

/** Accepts etcdctl's forms: "host:port", "http://host:port", comma separated. */
export function parseEndpoints(raw: string): string[] {
  const endpoints = raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => (/^[a-z]+:\/\//.test(item) ? item : `http://${item}`));
  for (const endpoint of endpoints) {
    try {
      new URL(endpoint);
    } catch {
      throw new WharfError({ code: 'bad-input', object: `etcd endpoint "${endpoint}"`, cause: 'not host:port or a URL' });
    }
  }
  return endpoints;
}

export async function connectCluster(config: ClusterConfig): Promise<Etcd3> {
  return new Etcd3(await clientOptions(config));
}

/** The etcd3 options for a cluster: auth, TLS files read once, and gRPC's reply cap raised for paged values. */
export async function clientOptions(config: ClusterConfig, hosts: string[] = config.endpoints): Promise<IOptions> {
  const options: IOptions = { hosts, dialTimeout: 3000, grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 } };
  if (config.username) options.auth = { username: config.username, password: config.password ?? '' };
  if (config.caFile || config.certFile) {
    const read = (file?: string) => (file ? readFile(file) : Promise.resolve(undefined));
    const [ca, cert, key] = await Promise.all([read(config.caFile), read(config.certFile), read(config.keyFile)]);
    options.credentials = { rootCertificate: ca ?? Buffer.alloc(0), certChain: cert, privateKey: key };
  }
  return options;
}
