/**
 * Read-only views of a key at a revision (etcd-rev://<cluster>/<key>?rev=N) and of cluster health
 * (etcd-health://<cluster>/health.md): the left side of conflict and history diffs, and the health report.
 */
import * as vscode from 'vscode';
import { messageOf } from '../../engines/core/errors';
import { clusterHealth } from '../../engines/etcd/health';
import { getKey } from '../../engines/etcd/keyspace';
import { isBinary } from '../../engines/etcd/values';
import type { ClusterRegistry } from './clusters';

export const REVISION_SCHEME = 'etcd-rev';
export const HEALTH_SCHEME = 'etcd-health';

export function revisionUri(cluster: string, key: string, revision: string, label: string): vscode.Uri {
  return vscode.Uri.from({ scheme: REVISION_SCHEME, authority: encodeURIComponent(cluster), path: `/${key}`.replace(/\/{2,}/g, '/'), query: `rev=${revision}&label=${encodeURIComponent(label)}&key=${encodeURIComponent(key)}` });
}

export class RevisionContent implements vscode.TextDocumentContentProvider {
  constructor(private readonly registry: ClusterRegistry) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const cluster = await this.registry.cluster(decodeURIComponent(uri.authority));
    const revision = new URLSearchParams(uri.query).get('rev') ?? '0';
    if (revision === '0') return '';
    try {
      const entry = (await getKey(cluster, new URLSearchParams(uri.query).get('key') ?? uri.path, revision)).value;
      if (!entry) return '';
      return isBinary(entry.value) ? `<binary value, ${entry.value.length} bytes, base64>\n${entry.value.toString('base64')}\n` : entry.value.toString('utf8');
    } catch (error) {
      return `Cannot read revision ${revision}: ${messageOf(error)}\n`;
    }
  }
}

export function healthUri(cluster: string): vscode.Uri {
  return vscode.Uri.from({ scheme: HEALTH_SCHEME, authority: encodeURIComponent(cluster), path: '/health.md', query: String(Date.now()) });
}

export class HealthContent implements vscode.TextDocumentContentProvider {
  constructor(private readonly registry: ClusterRegistry) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const name = decodeURIComponent(uri.authority);
    const cluster = await this.registry.cluster(name);
    const health = await clusterHealth(cluster);
    const mib = (bytes?: number) => (bytes === undefined || Number.isNaN(bytes) ? '' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
    const lines = [
      `# etcd cluster ${name}`,
      '',
      health.hasQuorum
        ? `Quorum: yes (${health.answering} of ${health.total} members answer; ${health.needed} needed). Leader: ${health.leader ?? 'unknown'}.`
        : `**Quorum lost**: ${health.answering} of ${health.total} members answer, ${health.needed} are needed. Reads are served serializable (possibly stale); writes fail until members return.`,
      '',
      '| Member | Endpoint | Health | Leader | Raft term | Raft index | Applied | DB size | In use | Version | Error |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...health.members.map((member) =>
        `| ${member.name} | ${member.endpoint} | ${member.healthy ? 'healthy' : 'UNHEALTHY'} | ${member.isLeader ? 'leader' : ''} | ${member.raftTerm ?? ''} | ${member.raftIndex ?? ''} | ${member.raftAppliedIndex ?? ''} | ${mib(member.dbSize)} | ${mib(member.dbSizeInUse)} | ${member.version ?? ''} | ${member.error ?? ''} |`,
      ),
      '',
      `Checked ${new Date().toISOString()}. Run "Wharf: etcd Cluster Health" again to refresh.`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
