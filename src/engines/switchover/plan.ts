/**
 * A switchover plan: which app, which container, where its upstream key lives in etcd, the new
 * image, how to tell it is healthy, how long to drain, how many retired containers to keep.
 * One JSON format for the editor, the CLI and saved files; validated up front with errors that
 * name the field, so nothing starts on a bad plan.
 */
import { promises as fs } from 'node:fs';
import { WharfError } from '../core/errors';

export interface HttpHealth {
  kind: 'http';
  /** Path requested on the new container, e.g. /health. */
  path: string;
  expectStatus: number;
  /** One probe's timeout. */
  timeoutMs: number;
  intervalMs: number;
  /** Consecutive good probes needed. */
  successes: number;
  /** Give up (and roll back) when not healthy within this long. */
  withinMs: number;
}

/** Use the image's own HEALTHCHECK (State.Health.Status == healthy). */
export interface ImageHealth {
  kind: 'image';
  withinMs: number;
}

export type HealthCheck = HttpHealth | ImageHealth;

export interface SwitchoverPlan {
  /** The app's name: names the switchover record and new containers. */
  app: string;
  /** The running container (id or name) serving the app now. */
  container: string;
  /** The new image: tag or digest. */
  image: string;
  /** Engine URL (unix://, tcp://, ssh://); omitted = DOCKER_HOST / context / default socket. */
  host?: string;
  etcd: { endpoints: string[] };
  /** confd's layout: `<prefix><key>` = `host:port`. */
  prefix: string;
  /** The app's current key under the prefix (the old container's). */
  key: string;
  /** The key for the new container; default: the new container's name. */
  newKey?: string;
  /** Where the proxy publishes what it applied and where the switchover record lives; default: a `status/` beside the prefix. */
  statusPrefix?: string;
  /** The container port the proxy sends traffic to; default: the first published (or exposed) TCP port. */
  port?: number;
  /** How the proxy reaches a container: its published host port (default) or its address on its network. */
  address?: 'published' | 'container';
  /** Host to advertise for ports published on 0.0.0.0; default 127.0.0.1 (a proxy on the same host). */
  advertiseHost?: string;
  health: HealthCheck;
  /** Proxy URL to probe through (the frontend), e.g. http://127.0.0.1:8080. */
  proxyUrl: string;
  /** Path probed through the proxy (old and new should answer it differently, e.g. with their version); default `/`. */
  proxyPath?: string;
  /** How long to wait for the proxy to apply a change. */
  proxyWithinMs: number;
  /** Time given to in-flight requests on the old backend after it stops receiving new ones. */
  drainMs: number;
  /** `docker stop` grace period for the old container. */
  stopTimeoutSeconds: number;
  /** Stopped previous containers kept for rollback. */
  retention: number;
  /** Name of the new container; default `<app>-<short id>`. */
  newName?: string;
}

export const DEFAULTS = {
  health: { kind: 'http', path: '/health', expectStatus: 200, timeoutMs: 2000, intervalMs: 500, successes: 2, withinMs: 30_000 } satisfies HttpHealth,
  proxyWithinMs: 30_000,
  drainMs: 2000,
  stopTimeoutSeconds: 10,
  retention: 1,
  address: 'published' as const,
  advertiseHost: '127.0.0.1',
};

/** The status prefix beside an upstream prefix: /app/upstream/ → /app/status/. */
export function defaultStatusPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  const parent = trimmed.slice(0, trimmed.lastIndexOf('/') + 1);
  return `${parent || '/'}status/`;
}

export function statusPrefixOf(plan: Pick<SwitchoverPlan, 'prefix' | 'statusPrefix'>): string {
  return plan.statusPrefix ?? defaultStatusPrefix(plan.prefix);
}

/** The key confd publishes its applied revision under. */
export function appliedRevisionKey(statusPrefix: string): string {
  return `${statusPrefix}confd/applied_revision`;
}

export function upstreamKey(plan: Pick<SwitchoverPlan, 'prefix'>, key: string): string {
  return `${plan.prefix}${key}`;
}

const bad = (field: string, cause: string, remedy?: string) =>
  new WharfError({ code: 'bad-input', object: `switchover plan: ${field}`, cause, remedy });

/** Fills defaults and checks every field; throws the first problem found, naming the field. */
export function validatePlan(input: unknown): SwitchoverPlan {
  if (!input || typeof input !== 'object') throw bad('(root)', 'not a JSON object');
  const raw = input as Record<string, unknown>;
  const str = (field: string, required = true): string | undefined => {
    const value = raw[field];
    if (value === undefined || value === '') {
      if (required) throw bad(field, 'missing', `Set "${field}"`);
      return undefined;
    }
    if (typeof value !== 'string') throw bad(field, `must be a string, not ${typeof value}`);
    return value;
  };
  const num = (value: unknown, field: string, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw bad(field, `must be a number ≥ ${min}`);
    return value;
  };
  const app = str('app')!;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(app)) throw bad('app', `"${app}" is not a valid name`, 'Use letters, digits, ".", "_" and "-"');
  const prefix = str('prefix')!;
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw bad('prefix', `"${prefix}" must start and end with "/"`, 'For example /app/upstream/');
  const key = str('key')!;
  const checkKey = (field: string, value: string) => {
    if (value.includes('/') || !/^[a-zA-Z0-9_.:-]+$/.test(value)) throw bad(field, `"${value}" is not a key name under the prefix`, 'Use letters, digits, ".", "_", ":" and "-" (no "/")');
  };
  checkKey('key', key);
  const newKey = str('newKey', false);
  if (newKey) {
    checkKey('newKey', newKey);
    if (newKey === key) throw bad('newKey', 'is the same as key', 'The new container needs its own key so both are served during the switch');
  }
  const image = str('image')!;
  if (/\s/.test(image)) throw bad('image', `"${image}" contains spaces`);
  const etcd = raw.etcd as { endpoints?: unknown } | undefined;
  if (!etcd || !Array.isArray(etcd.endpoints) || etcd.endpoints.length === 0 || !etcd.endpoints.every((e) => typeof e === 'string' && e)) {
    throw bad('etcd.endpoints', 'missing or empty', 'List the cluster endpoints, e.g. ["http://127.0.0.1:2379"]');
  }
  const proxyUrl = str('proxyUrl')!;
  try {
    new URL(proxyUrl);
  } catch {
    throw bad('proxyUrl', `"${proxyUrl}" is not a URL`, 'For example http://127.0.0.1:8080');
  }
  const statusPrefix = str('statusPrefix', false);
  if (statusPrefix && (!statusPrefix.startsWith('/') || !statusPrefix.endsWith('/'))) throw bad('statusPrefix', 'must start and end with "/"');
  if (statusPrefix && (statusPrefix.startsWith(prefix) || prefix.startsWith(statusPrefix))) {
    throw bad('statusPrefix', 'overlaps the upstream prefix', 'Status keys must live outside the watched prefix, or the proxy would serve them');
  }
  const address = raw.address ?? DEFAULTS.address;
  if (address !== 'published' && address !== 'container') throw bad('address', 'must be "published" or "container"');
  const port = raw.port === undefined ? undefined : num(raw.port, 'port', 0, 1);
  if (port !== undefined && (!Number.isInteger(port) || port > 65535)) throw bad('port', 'must be a TCP port (1-65535)');
  return {
    app,
    container: str('container')!,
    image,
    host: str('host', false),
    etcd: { endpoints: etcd.endpoints as string[] },
    prefix,
    key,
    newKey,
    statusPrefix,
    port,
    address,
    advertiseHost: str('advertiseHost', false) ?? DEFAULTS.advertiseHost,
    health: validateHealth(raw.health),
    proxyUrl: proxyUrl.replace(/\/+$/, ''),
    proxyPath: str('proxyPath', false),
    proxyWithinMs: num(raw.proxyWithinMs, 'proxyWithinMs', DEFAULTS.proxyWithinMs, 100),
    drainMs: num(raw.drainMs, 'drainMs', DEFAULTS.drainMs, 0),
    stopTimeoutSeconds: num(raw.stopTimeoutSeconds, 'stopTimeoutSeconds', DEFAULTS.stopTimeoutSeconds, 0),
    retention: num(raw.retention, 'retention', DEFAULTS.retention, 0),
    newName: str('newName', false),
  };

  function validateHealth(value: unknown): HealthCheck {
    if (value === undefined) return { ...DEFAULTS.health };
    if (!value || typeof value !== 'object') throw bad('health', 'must be an object');
    const h = value as Record<string, unknown>;
    if (h.kind === 'image') return { kind: 'image', withinMs: num(h.withinMs, 'health.withinMs', DEFAULTS.health.withinMs, 100) };
    if (h.kind !== undefined && h.kind !== 'http') throw bad('health.kind', `"${String(h.kind)}" is neither "http" nor "image"`);
    const path = h.path ?? DEFAULTS.health.path;
    if (typeof path !== 'string' || !path.startsWith('/')) throw bad('health.path', 'must start with "/"', 'For example /health');
    const expectStatus = num(h.expectStatus, 'health.expectStatus', DEFAULTS.health.expectStatus, 100);
    if (expectStatus > 599) throw bad('health.expectStatus', 'must be an HTTP status (100-599)');
    return {
      kind: 'http',
      path,
      expectStatus,
      timeoutMs: num(h.timeoutMs, 'health.timeoutMs', DEFAULTS.health.timeoutMs, 10),
      intervalMs: num(h.intervalMs, 'health.intervalMs', DEFAULTS.health.intervalMs, 10),
      successes: num(h.successes, 'health.successes', DEFAULTS.health.successes, 1),
      withinMs: num(h.withinMs, 'health.withinMs', DEFAULTS.health.withinMs, 100),
    };
  }
}

export async function loadPlan(file: string): Promise<SwitchoverPlan> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new WharfError({ code: 'not-found', object: `plan ${file}`, cause: 'cannot be read', remedy: 'Check the path', inner: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WharfError({ code: 'bad-input', object: `plan ${file}`, cause: `not valid JSON (${(error as Error).message})`, inner: error });
  }
  return validatePlan(parsed);
}

/** Written atomically (temp + rename), two-space JSON for review in a repository. */
export async function savePlan(file: string, plan: SwitchoverPlan): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(plan, null, 2) + '\n');
  await fs.rename(tmp, file);
}
