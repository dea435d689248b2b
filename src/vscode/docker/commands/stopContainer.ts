/** Stops a running container (SIGTERM, then SIGKILL after the engine's timeout). */
import { stopContainer as stop } from '../../../engines/docker/containerOps';
import type { Services } from '../../services';
import { containerAction } from './containerAction';

export function stopContainer(services: Services, node?: unknown): Promise<string | undefined> {
  return containerAction(services, node, 'stopping', ['running', 'restarting', 'paused'], (docker, id) => stop(docker, id));
}
