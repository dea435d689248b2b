/**
 * Container listing, grouped by compose project. One `GET /containers/json?all=1` without
 * `size=1`: computing each container's size is slow and the tree does not show it.
 */
import type Docker from 'dockerode';
import { fromNetworkError } from '../core/errors';

export type ContainerState = 'running' | 'paused' | 'exited' | 'created' | 'restarting' | 'removing' | 'dead';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  /** Docker's human status ("Up 3 minutes"); changes all the time, so never part of an id. */
  status: string;
  ports: string[];
  created: number;
  project?: string;
  service?: string;
}

export interface ContainerGroup {
  /** The compose project, or undefined for containers that belong to none. */
  project?: string;
  containers: ContainerSummary[];
}

export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';

export async function listContainers(docker: Docker, object = 'engine', signal?: AbortSignal): Promise<ContainerSummary[]> {
  let raw: Docker.ContainerInfo[];
  try {
    raw = await docker.listContainers({ all: true, size: false, abortSignal: signal } as Docker.ContainerListOptions);
  } catch (error) {
    throw fromNetworkError(error, object, 'Check that the engine runs, or choose another engine');
  }
  return raw.map(toSummary);
}

function toSummary(info: Docker.ContainerInfo): ContainerSummary {
  const labels = info.Labels ?? {};
  return {
    id: info.Id,
    name: (info.Names?.[0] ?? info.Id.slice(0, 12)).replace(/^\//, ''),
    image: info.Image,
    state: info.State as ContainerState,
    status: info.Status,
    ports: formatPorts(info.Ports ?? []),
    created: info.Created,
    project: labels[COMPOSE_PROJECT] || undefined,
    service: labels[COMPOSE_SERVICE] || undefined,
  };
}

/** "127.0.0.1:8080->80/tcp" like `docker ps`, one entry per mapping, duplicates (IPv4/IPv6) merged. */
export function formatPorts(ports: Docker.Port[]): string[] {
  const seen = new Set<string>();
  for (const port of ports) {
    const inner = `${port.PrivatePort}/${port.Type}`;
    seen.add(port.PublicPort ? `${port.IP && port.IP !== '::' ? `${port.IP}:` : ''}${port.PublicPort}->${inner}` : inner);
  }
  return [...seen];
}

/** Compose projects first (by name), then the containers of no project; containers by name. */
export function groupContainers(containers: ContainerSummary[]): ContainerGroup[] {
  const byProject = new Map<string | undefined, ContainerSummary[]>();
  for (const container of containers) {
    let list = byProject.get(container.project);
    if (!list) byProject.set(container.project, (list = []));
    list.push(container);
  }
  return [...byProject.entries()]
    .sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : a.localeCompare(b)))
    .map(([project, list]) => ({ project, containers: list.sort((a, b) => a.name.localeCompare(b.name)) }));
}
