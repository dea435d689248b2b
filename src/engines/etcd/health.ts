/**
 * Cluster health: each member asked on its own (status: leader, raft term and index, database
 * size), and the one question that matters for writes: is there a quorum?
 */
import type { IMember, IStatusResponse } from 'etcd3';
import { messageOf } from '../core/errors';
import type { EtcdCluster } from './cluster';

export interface MemberHealth {
  id?: string;
  name: string;
  endpoint: string;
  healthy: boolean;
  isLeader: boolean;
  leader?: string;
  raftTerm?: string;
  raftIndex?: string;
  raftAppliedIndex?: string;
  dbSize?: number;
  dbSizeInUse?: number;
  version?: string;
  error?: string;
}

export interface ClusterHealth {
  cluster: string;
  members: MemberHealth[];
  leader?: string;
  total: number;
  answering: number;
  needed: number;
  hasQuorum: boolean;
}

export interface QuorumState {
  total: number;
  answering: number;
  needed: number;
  hasQuorum: boolean;
}

const PROBE_MS = 1500;

/** The member list, asked of each endpoint in turn; falls back to the configured endpoints. */
async function listMembers(cluster: EtcdCluster): Promise<{ members: IMember[] | undefined }> {
  for (const endpoint of cluster.config.endpoints) {
    try {
      const response = await cluster.member(endpoint).cluster.memberList({}, cluster.deadline(PROBE_MS));
      return { members: response.members };
    } catch {
      /* try the next endpoint */
    }
  }
  return { members: undefined };
}

async function statusOf(cluster: EtcdCluster, endpoint: string): Promise<IStatusResponse> {
  return cluster.member(endpoint).maintenance.status(cluster.deadline(PROBE_MS));
}

export async function clusterHealth(cluster: EtcdCluster): Promise<ClusterHealth> {
  const { members } = await listMembers(cluster);
  const targets =
    members?.map((member) => ({ id: member.ID, name: member.name || member.ID, endpoint: member.clientURLs[0] ?? '' })) ??
    cluster.config.endpoints.map((endpoint) => ({ id: undefined, name: endpoint, endpoint }));
  const results = await Promise.all(
    targets.map(async (target): Promise<MemberHealth> => {
      if (!target.endpoint) return { ...target, healthy: false, isLeader: false, error: 'member has no client URL (not started yet?)' };
      try {
        const status = await statusOf(cluster, target.endpoint);
        const hasLeader = status.leader !== '0' && status.leader !== '';
        return {
          ...target,
          id: target.id ?? status.header.member_id,
          healthy: hasLeader && (status.errors ?? []).length === 0,
          isLeader: hasLeader && status.leader === status.header.member_id,
          leader: hasLeader ? status.leader : undefined,
          raftTerm: status.raftTerm,
          raftIndex: status.raftIndex,
          raftAppliedIndex: status.raftAppliedIndex,
          dbSize: Number(status.dbSize),
          dbSizeInUse: Number(status.dbSizeInUse),
          version: status.version,
          error: hasLeader ? (status.errors ?? []).join('; ') || undefined : 'no leader',
        };
      } catch (error) {
        return { ...target, healthy: false, isLeader: false, error: messageOf(error) };
      }
    }),
  );
  const total = results.length;
  const answering = results.filter((member) => member.raftTerm !== undefined).length;
  const needed = Math.floor(total / 2) + 1;
  const leader = results.find((member) => member.isLeader)?.name;
  return { cluster: cluster.name, members: results, leader, total, answering, needed, hasQuorum: answering >= needed && results.some((member) => member.healthy) };
}

export async function probeQuorum(cluster: EtcdCluster): Promise<QuorumState> {
  const health = await clusterHealth(cluster);
  return { total: health.total, answering: health.answering, needed: health.needed, hasQuorum: health.hasQuorum };
}
