/** What a proxy driver does for `wharf confd`: bring the proxy's backend to exactly this set. */
import type { Logger } from '../../core/progress';

export interface UpstreamServer {
  /** The key's name under the prefix (confd's `/app/upstream/<name>`). */
  name: string;
  /** host:port */
  address: string;
}

export interface ProxyDriver {
  /** For logs: "haproxy app via /run/haproxy.sock", "nginx /etc/nginx/conf.d/app.conf". */
  readonly label: string;
  /**
   * Makes the proxy send new requests only to `servers` (never called with an empty set).
   * Resolves once new requests follow the set; servers that left may still finish in-flight work.
   */
  apply(servers: UpstreamServer[], log: Logger): Promise<void>;
  close?(): Promise<void>;
}

/** "10.0.0.5:8080" → ["10.0.0.5", 8080]; undefined when it is not host:port. */
export function splitAddress(address: string): [string, number] | undefined {
  const match = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(address.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? [match[1], port] : undefined;
}
