/**
 * `wharf confd`: watches an etcd prefix (confd's layout, `<prefix><name>` = host:port) and keeps a
 * proxy's backend equal to it, publishing the revision it applied. HAProxy's runtime API by
 * default (no reload, no failed request); an nginx upstream file with reload as the alternative.
 * Runs until SIGINT/SIGTERM; logs go to stderr.
 */
import { EtcdCluster } from '../../engines/etcd/cluster';
import { clusterFromEnv } from '../../engines/etcd/connection';
import type { Logger } from '../../engines/core/progress';
import { Confd } from '../../engines/switchover/confd';
import { appliedRevisionKey, defaultStatusPrefix } from '../../engines/switchover/plan';
import { HaproxyDriver } from '../../engines/switchover/proxy/haproxy';
import { NginxDriver } from '../../engines/switchover/proxy/nginx';
import type { ProxyDriver } from '../../engines/switchover/proxy/types';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';

const stderrLogger = (verbose: boolean): Logger => {
  const line = (level: string) => (message: string) => process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
  return { trace: verbose ? line('trace') : () => undefined, info: line('info'), warn: line('warn'), error: line('error') };
};

export function driverFromArgs(args: ParsedArgs): ProxyDriver {
  const socket = stringFlag(args, 'haproxy-socket');
  const upstreamFile = stringFlag(args, 'nginx-upstream');
  if (socket && upstreamFile) throw new UsageError('choose one proxy: --haproxy-socket or --nginx-upstream');
  const drain = stringFlag(args, 'drain');
  if (socket) {
    const backend = stringFlag(args, 'backend');
    if (!backend) throw new UsageError('--haproxy-socket needs --backend NAME');
    return new HaproxyDriver({ socketPath: socket, backend, drainMs: drain ? Number(drain) : undefined });
  }
  if (upstreamFile) {
    const pidFile = stringFlag(args, 'nginx-pid');
    if (!pidFile) throw new UsageError('--nginx-upstream needs --nginx-pid FILE');
    return new NginxDriver({ upstreamFile, pidFile, upstream: stringFlag(args, 'upstream') ?? 'app', configFile: stringFlag(args, 'nginx-conf'), prefix: stringFlag(args, 'nginx-prefix') });
  }
  throw new UsageError('name the proxy: --haproxy-socket PATH --backend NAME, or --nginx-upstream FILE --nginx-pid FILE');
}

export const confd: CliCommand = {
  name: 'confd',
  summary: 'keep a proxy backend equal to an etcd prefix (HAProxy runtime API, or nginx render + reload)',
  usage:
    'wharf confd --prefix /app/upstream/ (--haproxy-socket PATH --backend NAME [--drain MS] | --nginx-upstream FILE --nginx-pid FILE [--nginx-conf FILE] [--nginx-prefix DIR] [--upstream NAME])\n' +
    '       [--endpoints A,B,C] [--status-key KEY] [--verbose]',
  valueFlags: ['endpoints', 'prefix', 'status-key', 'haproxy-socket', 'backend', 'drain', 'nginx-upstream', 'nginx-pid', 'nginx-conf', 'nginx-prefix', 'upstream'],
  async run(args: ParsedArgs) {
    const prefix = stringFlag(args, 'prefix');
    if (!prefix || !prefix.startsWith('/') || !prefix.endsWith('/')) throw new UsageError('--prefix must start and end with "/", e.g. /app/upstream/');
    const driver = driverFromArgs(args);
    const statusKey = stringFlag(args, 'status-key') ?? appliedRevisionKey(defaultStatusPrefix(prefix));
    if (statusKey.startsWith(prefix)) throw new UsageError('--status-key must be outside --prefix');
    const log = stderrLogger(args.flags.has('verbose'));
    const cluster = await EtcdCluster.open(clusterFromEnv(process.env, stringFlag(args, 'endpoints')));
    const running = await Confd.start({ cluster, prefix, statusKey, driver, log });
    log.info(`confd: watching ${prefix} for ${driver.label}; publishing the applied revision at ${statusKey}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    log.info('confd: stopping');
    await running.close();
    cluster.close();
    return 0;
  },
};
