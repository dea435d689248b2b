/** Restarts a container. */
import { restartContainer as restart } from '../../../engines/docker/containerOps';
import type { Services } from '../../services';
import { containerAction } from './containerAction';

export function restartContainer(services: Services, node?: unknown): Promise<string | undefined> {
  return containerAction(services, node, 'restarting', ['running', 'exited', 'created', 'paused'], (docker, id) => restart(docker, id));
}
