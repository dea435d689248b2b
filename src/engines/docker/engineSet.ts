/**
 * Several engines at once: the default one (DOCKER_HOST, the current context, the default socket)
 * plus configured ones. Each is connected on first use and keeps its client (and, for ssh://,
 * its one SSH connection) until the set is disposed or the configuration changes.
 */
import type Docker from 'dockerode';
import { WharfError } from '../core/errors';
import { closeEngine, connectEngine, type EngineConnectOptions } from './client';
import { resolveEndpoint, type EndpointSource, type EngineEndpoint } from './endpoint';

export interface EngineConfig {
  /** Stable id used in tree ids: "default" or "engine:<name>". */
  id: string;
  name: string;
  host?: string;
  context?: string;
}

export interface EngineSetOptions extends EngineConnectOptions {
  env?: NodeJS.ProcessEnv;
  dockerConfigDir?: string;
}

export const DEFAULT_ENGINE_ID = 'default';

/** The engines to show, in order; names are kept unique so ids stay stable. */
export function engineConfigs(showDefault: boolean, configured: { name: string; host?: string; context?: string }[]): EngineConfig[] {
  const out: EngineConfig[] = showDefault ? [{ id: DEFAULT_ENGINE_ID, name: 'default' }] : [];
  const used = new Set<string>();
  for (const engine of configured) {
    let name = engine.name?.trim() || engine.host || engine.context || 'engine';
    for (let n = 2; used.has(name); n++) name = `${engine.name} (${n})`;
    used.add(name);
    out.push({ id: `engine:${name}`, name, host: engine.host, context: engine.context });
  }
  return out;
}

export class EngineHandle {
  private client?: Promise<{ docker: Docker; endpoint: EngineEndpoint }>;

  constructor(
    readonly config: EngineConfig,
    private readonly options: EngineSetOptions,
  ) {}

  get id(): string {
    return this.config.id;
  }

  /** The object name used in messages: "engine lab (unix:///...)". */
  async describe(): Promise<string> {
    try {
      return `engine ${this.config.name} (${(await this.connect()).endpoint.label})`;
    } catch {
      return `engine ${this.config.name}`;
    }
  }

  connect(): Promise<{ docker: Docker; endpoint: EngineEndpoint }> {
    this.client ??= (async () => {
      const source: EndpointSource = { host: this.config.host, context: this.config.context, env: this.options.env, dockerConfigDir: this.options.dockerConfigDir };
      if (this.config.id !== DEFAULT_ENGINE_ID && !source.host && !source.context) {
        throw new WharfError({ code: 'bad-input', object: `engine ${this.config.name}`, cause: 'it has neither a host nor a context', remedy: 'Set "host" or "context" for it in wharf.engines' });
      }
      const endpoint = await resolveEndpoint(source);
      return { docker: await connectEngine(endpoint, this.options), endpoint };
    })();
    // A bad address is not cached forever: the next attempt (a retry) resolves again.
    const pending = this.client;
    pending.catch(() => {
      if (this.client === pending) this.client = undefined;
    });
    return pending;
  }

  async docker(): Promise<Docker> {
    return (await this.connect()).docker;
  }

  dispose(): void {
    const client = this.client;
    this.client = undefined;
    void client?.then(({ docker }) => closeEngine(docker), () => undefined);
  }
}

export class EngineSet {
  private handles: EngineHandle[] = [];

  constructor(private readonly options: EngineSetOptions = {}) {}

  /** Replaces the engines; handles whose config did not change keep their connection. */
  configure(configs: EngineConfig[]): void {
    const next: EngineHandle[] = [];
    const old = new Map(this.handles.map((handle) => [handle.id, handle]));
    for (const config of configs) {
      const existing = old.get(config.id);
      if (existing && existing.config.host === config.host && existing.config.context === config.context) {
        next.push(existing);
        old.delete(config.id);
      } else {
        next.push(new EngineHandle(config, this.options));
      }
    }
    for (const handle of old.values()) handle.dispose();
    this.handles = next;
  }

  /** Drops one engine's connection and client, so the next use resolves and connects again. */
  reconnect(id: string): void {
    const index = this.handles.findIndex((handle) => handle.id === id);
    if (index < 0) return;
    const old = this.handles[index];
    this.handles[index] = new EngineHandle(old.config, this.options);
    old.dispose();
  }

  get engines(): readonly EngineHandle[] {
    return this.handles;
  }

  get(id: string): EngineHandle | undefined {
    return this.handles.find((handle) => handle.id === id);
  }

  dispose(): void {
    for (const handle of this.handles) handle.dispose();
    this.handles = [];
  }
}
