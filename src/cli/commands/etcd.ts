/** `wharf etcd ls|get|put|rm|watch`: the etcd engines from a shell, with etcdctl's environment as default. */
import { WharfError } from '../../engines/core/errors';
import { EtcdCluster } from '../../engines/etcd/cluster';
import { clusterFromEnv } from '../../engines/etcd/connection';
import { casPut, deleteKey, deletePrefix, put } from '../../engines/etcd/edit';
import { getKey, iterateValues, listLevel, type LevelEntry } from '../../engines/etcd/keyspace';
import { putWithTtl } from '../../engines/etcd/leases';
import { encodeForJson, isBinary } from '../../engines/etcd/values';
import { PrefixWatch } from '../../engines/etcd/watch';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';

const USAGE = [
  'wharf etcd ls [PREFIX] [--flat] [--limit N] [--separator S]',
  '       wharf etcd get KEY [--prefix]',
  '       wharf etcd put KEY [VALUE] [--ttl SECONDS] [--if-revision REV]   (VALUE from stdin when omitted)',
  '       wharf etcd rm KEY [--prefix]',
  '       wharf etcd watch KEY [--prefix]',
  '  common: [--endpoints A,B,C] [--json]; defaults from ETCDCTL_ENDPOINTS, ETCDCTL_USER, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY',
].join('\n');

function warnStale(stale: boolean): void {
  if (stale) process.stderr.write('wharf etcd: quorum lost; this answer comes from a serializable read and may be stale\n');
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function positiveInt(args: ParsedArgs, name: string): number | undefined {
  const raw = stringFlag(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a whole number ≥ 1`);
  return value;
}

async function ls(cluster: EtcdCluster, args: ParsedArgs, json: boolean): Promise<number> {
  const prefix = args.positionals[1] ?? '';
  const limit = positiveInt(args, 'limit');
  const entries: LevelEntry[] = [];
  let cursor: string | undefined;
  let stale = false;
  do {
    const page = await listLevel(cluster, { prefix, separator: stringFlag(args, 'separator') ?? '/', limit: Math.min(limit ?? 1000, 1000), cursor, flat: args.flags.has('flat') });
    entries.push(...page.entries);
    stale ||= page.stale;
    cursor = page.cursor;
  } while (cursor && (limit === undefined || entries.length < limit));
  warnStale(stale);
  if (json) printJson({ prefix, entries, more: !!cursor, stale });
  else printTable(entries.map((entry) => ({ kind: entry.kind, name: entry.kind === 'folder' ? `${entry.name}/` : entry.name, path: entry.path })), ['kind', 'name', 'path']);
  if (cursor && !json) process.stderr.write(`wharf etcd: more entries follow; raise --limit to see them\n`);
  return 0;
}

async function get(cluster: EtcdCluster, args: ParsedArgs, json: boolean): Promise<number> {
  const key = requireKey(args);
  if (args.flags.has('prefix')) {
    if (json) process.stdout.write('[\n');
    let first = true;
    for await (const entry of iterateValues(cluster, key)) {
      if (json) process.stdout.write(`${first ? '' : ',\n'}${JSON.stringify({ key: entry.key, ...encodeForJson(entry.value), modRevision: entry.modRevision, lease: entry.lease })}`);
      else process.stdout.write(`${entry.key}\n${isBinary(entry.value) ? `<binary ${entry.value.length} bytes, base64> ${entry.value.toString('base64')}` : entry.value.toString()}\n`);
      first = false;
    }
    if (json) process.stdout.write('\n]\n');
    return 0;
  }
  const result = await getKey(cluster, key);
  warnStale(result.stale);
  if (!result.value) throw new WharfError({ code: 'not-found', object: `etcd key ${key}`, cause: 'does not exist', remedy: 'List keys with `wharf etcd ls PREFIX`' });
  const entry = result.value;
  if (json) printJson({ key: entry.key, ...encodeForJson(entry.value), createRevision: entry.createRevision, modRevision: entry.modRevision, version: entry.version, lease: entry.lease, stale: result.stale });
  else process.stdout.write(entry.value);
  return 0;
}

async function putCommand(cluster: EtcdCluster, args: ParsedArgs, json: boolean): Promise<number> {
  const key = requireKey(args);
  const value = args.positionals[2] !== undefined ? Buffer.from(args.positionals[2]) : await readStdin();
  const ttl = positiveInt(args, 'ttl');
  const ifRevision = stringFlag(args, 'if-revision');
  let result: { modRevision: string; lease?: string };
  if (ttl !== undefined) result = { modRevision: '', lease: await putWithTtl(cluster, key, value, ttl) };
  else if (ifRevision !== undefined) result = await casPut(cluster, key, value, ifRevision);
  else result = await put(cluster, key, value);
  if (json) printJson({ key, ...result });
  else process.stdout.write('OK\n');
  return 0;
}

async function rm(cluster: EtcdCluster, args: ParsedArgs, json: boolean): Promise<number> {
  const key = requireKey(args);
  const deleted = args.flags.has('prefix') ? await deletePrefix(cluster, key) : Number(await deleteKey(cluster, key));
  if (json) printJson({ deleted });
  else process.stdout.write(`${deleted}\n`);
  return 0;
}

async function watch(cluster: EtcdCluster, args: ParsedArgs, json: boolean): Promise<number> {
  const key = requireKey(args);
  if (!args.flags.has('prefix')) {
    throw new UsageError('watch follows a prefix; pass --prefix (a single key is a prefix of itself)');
  }
  const head = await getKey(cluster, key);
  await new Promise<void>((resolve) => {
    const watcher = new PrefixWatch(cluster, {
      prefix: key,
      revision: head.revision,
      onEvents(events) {
        for (const event of events) {
          if (json) process.stdout.write(`${JSON.stringify({ type: event.type, key: event.key, ...(event.type === 'put' ? encodeForJson(event.entry.value) : {}), modRevision: event.entry.modRevision })}\n`);
          else process.stdout.write(`${event.type.toUpperCase()} ${event.key}${event.type === 'put' ? `\n${isBinary(event.entry.value) ? `<binary ${event.entry.value.length} bytes>` : event.entry.value.toString()}` : ''}\n`);
        }
      },
      async onResync(reason) {
        process.stderr.write(`wharf etcd: watch restarted (${reason}); later events follow from the current state\n`);
        return (await getKey(cluster, key)).revision;
      },
    });
    const stop = () => {
      watcher.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function requireKey(args: ParsedArgs): string {
  const key = args.positionals[1];
  if (key === undefined) throw new UsageError('name a key');
  return key;
}

const verbs: Record<string, (cluster: EtcdCluster, args: ParsedArgs, json: boolean) => Promise<number>> = { ls, get, put: putCommand, rm, watch };

export const etcd: CliCommand = {
  name: 'etcd',
  summary: 'list, read, write, delete and watch etcd keys (ls, get, put, rm, watch)',
  usage: USAGE,
  valueFlags: ['endpoints', 'limit', 'separator', 'ttl', 'if-revision'],
  async run(args: ParsedArgs) {
    const verb = args.positionals[0];
    const handler = verb ? verbs[verb] : undefined;
    if (!handler) throw new UsageError(verb ? `unknown etcd command "${verb}"` : 'name an etcd command: ls, get, put, rm or watch');
    const cluster = await EtcdCluster.open(clusterFromEnv(process.env, stringFlag(args, 'endpoints')));
    try {
      return await handler(cluster, args, args.flags.has('json'));
    } finally {
      cluster.close();
    }
  },
};
