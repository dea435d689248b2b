/**
 * Checks that each configured part answers: engines, registries, etcd clusters, SSH hosts. Used by
 * `wharf doctor` and the editor's "Check Connections"; it is also the proof that the bundle really
 * loads dockerode, etcd3 and ssh2.
 */
import { fromNetworkError, messageOf } from '../core/errors';
import { closeEngine, connectEngine, probeEngine } from '../docker/client';
import { resolveEndpoint } from '../docker/endpoint';
import { connectCluster, type ClusterConfig } from '../etcd/connection';
import { parseRegistryAddress } from '../registry/address';
import { resolveSshTarget } from '../ssh/config';
import { connectSsh } from '../ssh/connection';
import { execCapture } from '../ssh/exec';

export interface DoctorTargets {
  engines?: { host?: string; context?: string }[];
  registries?: string[];
  clusters?: ClusterConfig[];
  sshHosts?: { spec: string; configFile?: string }[];
  /** The OpenSSH config that ssh:// engine aliases resolve through (default ~/.ssh/config). */
  sshConfigFile?: string;
}

export interface CheckResult {
  part: 'engine' | 'registry' | 'etcd' | 'ssh';
  target: string;
  ok: boolean;
  detail: string;
}

export async function runDoctor(targets: DoctorTargets): Promise<CheckResult[]> {
  const checks: Promise<CheckResult>[] = [
    ...(targets.engines ?? []).map((engine) => checkEngine(engine, targets.sshConfigFile)),
    ...(targets.registries ?? []).map(checkRegistry),
    ...(targets.clusters ?? []).map(checkCluster),
    ...(targets.sshHosts ?? []).map(checkSsh),
  ];
  return Promise.all(checks);
}

async function checkEngine(source: { host?: string; context?: string }, sshConfigFile?: string): Promise<CheckResult> {
  let target = source.host ?? source.context ?? 'default engine';
  try {
    const endpoint = await resolveEndpoint(source);
    target = endpoint.label;
    const docker = await connectEngine(endpoint, { sshConfigFile });
    const info = await probeEngine(docker, endpoint).finally(() => closeEngine(docker));
    return { part: 'engine', target, ok: true, detail: `Docker ${info.version} (API ${info.apiVersion}, ${info.os}, ${info.storageDriver ?? '?'})` };
  } catch (error) {
    return { part: 'engine', target, ok: false, detail: messageOf(error) };
  }
}

async function checkRegistry(input: string): Promise<CheckResult> {
  try {
    const address = parseRegistryAddress(input);
    const response = await fetch(`${address.baseUrl}/v2/`, { signal: AbortSignal.timeout(5000) });
    // 401 still proves a registry answers; it only wants credentials.
    const ok = response.status === 200 || response.status === 401;
    const detail = ok ? `Distribution API answers (${response.status === 401 ? 'needs credentials' : 'anonymous'})` : `unexpected HTTP ${response.status}`;
    return { part: 'registry', target: address.name, ok, detail };
  } catch (error) {
    // fetch hides the socket error in `cause`.
    const cause = (error as { cause?: unknown }).cause ?? error;
    const detail = fromNetworkError(cause, `registry ${input}`, 'Check the address and that the registry runs').message;
    return { part: 'registry', target: input, ok: false, detail };
  }
}

async function checkCluster(config: ClusterConfig): Promise<CheckResult> {
  const client = await connectCluster(config);
  try {
    const members = await client.cluster.memberList({});
    const status = await client.maintenance.status();
    return {
      part: 'etcd',
      target: config.endpoints.join(','),
      ok: true,
      detail: `etcd ${status.version}, ${members.members.length} members, leader ${status.leader}`,
    };
  } catch (error) {
    return { part: 'etcd', target: config.endpoints.join(','), ok: false, detail: messageOf(error) };
  } finally {
    client.close();
  }
}

async function checkSsh(host: { spec: string; configFile?: string }): Promise<CheckResult> {
  try {
    const target = await resolveSshTarget(host.spec, { configFile: host.configFile });
    const client = await connectSsh(target);
    try {
      const result = await execCapture(client, ['docker', 'version', '--format', '{{.Server.Version}}']);
      const ok = result.code === 0;
      return {
        part: 'ssh',
        target: `${target.user}@${target.host}:${target.port}`,
        ok,
        detail: ok ? `remote Docker ${result.stdout.trim()}` : `docker on the host failed: ${result.stderr.trim() || `exit ${result.code}`}`,
      };
    } finally {
      client.end();
    }
  } catch (error) {
    return { part: 'ssh', target: host.spec, ok: false, detail: messageOf(error) };
  }
}
