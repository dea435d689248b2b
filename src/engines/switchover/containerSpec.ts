/**
 * The new container is the old one with another image: same env, cmd, labels, ports, networks,
 * restart policy, mounts. What the old container only inherited from its image (PATH, the image's
 * CMD, its labels) is left out, so the new image's own defaults apply. Published host ports become
 * ephemeral on the same host address: both containers run side by side during the switch.
 */
import type Docker from 'dockerode';

const SWITCHOVER_LABEL = 'wharf.switchover.app';

export interface CloneOptions {
  image: string;
  /** Its inspect result, for its own defaults. */
  newImage: Docker.ImageInspectInfo;
  /** The old container's image, to tell inherited settings from the user's own. */
  oldImage?: Docker.ImageInspectInfo;
  name: string;
  app: string;
  key: string;
}

const sameList = (a?: string[] | null, b?: string[] | null) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function cloneSpec(old: Docker.ContainerInspectInfo, o: CloneOptions): Docker.ContainerCreateOptions {
  const config = old.Config;
  const imageConfig = o.oldImage?.Config;
  const imageEnv = new Set(imageConfig?.Env ?? []);
  const env = (config.Env ?? []).filter((entry) => !imageEnv.has(entry));
  const imageLabels = (imageConfig?.Labels ?? {}) as Record<string, string>;
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.Labels ?? {})) if (imageLabels[key] !== value) labels[key] = value;
  labels[SWITCHOVER_LABEL] = o.app;
  labels['wharf.switchover.key'] = o.key;
  labels['wharf.switchover.replaces'] = old.Id;
  const host = structuredClone(old.HostConfig) as Docker.HostConfig;
  // Same host address, any free port: the old one still holds its port until it stops.
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  for (const [port, list] of Object.entries(host.PortBindings ?? {})) {
    bindings[port] = (list as { HostIp?: string }[] | null ?? []).map((b) => ({ HostIp: b.HostIp ?? '', HostPort: '' }));
  }
  host.PortBindings = bindings;
  const networkMode = host.NetworkMode ?? 'default';
  const endpoints: Record<string, Docker.EndpointSettings> = {};
  const networks = old.NetworkSettings.Networks ?? {};
  const primary = networks[networkMode];
  if (primary && !['default', 'bridge', 'host', 'none'].includes(networkMode)) {
    // Aliases other than the old container's own short id keep service discovery working.
    endpoints[networkMode] = { Aliases: (primary.Aliases ?? []).filter((alias: string) => !old.Id.startsWith(alias)) } as Docker.EndpointSettings;
  }
  const spec: Docker.ContainerCreateOptions = {
    name: o.name,
    Image: o.image,
    Env: env,
    Labels: labels,
    ExposedPorts: config.ExposedPorts,
    HostConfig: host,
    NetworkingConfig: Object.keys(endpoints).length ? { EndpointsConfig: endpoints } : undefined,
    Tty: config.Tty,
    OpenStdin: config.OpenStdin,
  };
  // Settings the user gave (not inherited from the old image) carry over.
  if (!sameList(config.Cmd, imageConfig?.Cmd)) spec.Cmd = config.Cmd ?? undefined;
  if (!sameList(config.Entrypoint as string[] | null, imageConfig?.Entrypoint as string[] | null)) spec.Entrypoint = config.Entrypoint ?? undefined;
  if (config.WorkingDir && config.WorkingDir !== imageConfig?.WorkingDir) spec.WorkingDir = config.WorkingDir;
  if (config.User && config.User !== imageConfig?.User) spec.User = config.User;
  const healthcheck = (config as { Healthcheck?: unknown }).Healthcheck;
  if (healthcheck && JSON.stringify(healthcheck) !== JSON.stringify((imageConfig as { Healthcheck?: unknown } | undefined)?.Healthcheck)) {
    (spec as { Healthcheck?: unknown }).Healthcheck = healthcheck;
  }
  return spec;
}

/** Networks beyond the primary one, to connect after create (the API takes one at create time). */
export function extraNetworks(old: Docker.ContainerInspectInfo): { name: string; aliases: string[] }[] {
  const primary = old.HostConfig.NetworkMode ?? 'default';
  return Object.entries(old.NetworkSettings.Networks ?? {})
    .filter(([name]) => name !== primary && !['bridge', 'host', 'none'].includes(name))
    .map(([name, settings]) => ({ name, aliases: (settings.Aliases ?? []).filter((alias: string) => !old.Id.startsWith(alias)) }));
}

/** The container port the proxy should use: the given one, else the first published TCP port, else the first exposed one. */
export function appPort(info: Docker.ContainerInspectInfo, wanted?: number): number | undefined {
  if (wanted) return wanted;
  const tcp = (ports: object | undefined | null) =>
    Object.keys(ports ?? {})
      .filter((port) => port.endsWith('/tcp'))
      .map((port) => Number(port.split('/')[0]))
      .sort((a, b) => a - b);
  const published = Object.entries(info.HostConfig.PortBindings ?? {})
    .filter(([port, list]) => port.endsWith('/tcp') && (list as unknown[] | null)?.length)
    .map(([port]) => Number(port.split('/')[0]));
  return published.sort((a, b) => a - b)[0] ?? tcp(info.Config.ExposedPorts)[0];
}

/** host:port where the proxy reaches this container, or a reason why there is none. */
export function addressOf(info: Docker.ContainerInspectInfo, mode: 'published' | 'container', port: number, advertiseHost: string): string | { problem: string } {
  if (mode === 'container') {
    for (const network of Object.values(info.NetworkSettings.Networks ?? {})) {
      if (network.IPAddress) return `${network.IPAddress}:${port}`;
    }
    return { problem: 'has no address on any network' };
  }
  const bindings = (info.NetworkSettings.Ports ?? {})[`${port}/tcp`] as { HostIp: string; HostPort: string }[] | null | undefined;
  const v4 = bindings?.find((b) => !b.HostIp.includes(':')) ?? bindings?.[0];
  if (!v4?.HostPort) return { problem: `does not publish port ${port}/tcp` };
  const ip = !v4.HostIp || v4.HostIp === '0.0.0.0' || v4.HostIp === '::' ? advertiseHost : v4.HostIp;
  return `${ip}:${v4.HostPort}`;
}
