/** Maps etcd3 / gRPC failures to WharfError so the editor and the CLI say the same thing. */
import { WharfError } from '../core/errors';

/** A failure that says "the cluster could not decide": no leader, a timeout, or no member reachable. */
export function isQuorumSymptom(error: unknown): boolean {
  const message = String((error as Error | undefined)?.message ?? error);
  const name = (error as Error | undefined)?.constructor?.name ?? '';
  return (
    /GRPCDeadlineExceeded|GRPCUnavailable/.test(name) ||
    /deadline exceeded|request timed out|no leader|leader changed|unavailable|timed out|No connection established|connect ECONNREFUSED/i.test(message)
  );
}

export function isCompacted(error: unknown): boolean {
  return /required revision has been compacted/i.test(String((error as Error | undefined)?.message ?? error));
}

export function etcdError(error: unknown, object: string, remedy?: string): WharfError {
  if (error instanceof WharfError) return error;
  const message = String((error as Error | undefined)?.message ?? error);
  const name = (error as Error | undefined)?.constructor?.name ?? '';
  if (/Authentication|InvalidAuthToken|Unauthenticated/i.test(name + message)) {
    return new WharfError({ code: 'unauthorized', object, cause: 'authentication failed', remedy: 'Check the user name and the password kept in secret storage (or ETCDCTL_USER)', inner: error });
  }
  if (/PermissionDenied|permission denied/i.test(name + message)) {
    return new WharfError({ code: 'forbidden', object, cause: 'permission denied by etcd RBAC', remedy: 'Ask for a role that grants this key range', inner: error });
  }
  if (isCompacted(error)) {
    return new WharfError({ code: 'not-found', object, cause: 'that revision has been compacted', remedy: 'Only revisions after the last compaction can be read', inner: error });
  }
  if (/request is too large|message larger than max|ResourceExhausted/i.test(name + message)) {
    return new WharfError({ code: 'bad-input', object, cause: 'the request is larger than the cluster accepts', remedy: 'Store large values elsewhere or raise --max-request-bytes', inner: error });
  }
  if (isQuorumSymptom(error)) {
    return new WharfError({ code: 'unreachable', object, cause: message.replace(/^Error: /, ''), remedy: remedy ?? 'Check that the endpoints are right and the members are running', inner: error });
  }
  return new WharfError({ code: 'failed', object, cause: message, remedy, inner: error });
}
