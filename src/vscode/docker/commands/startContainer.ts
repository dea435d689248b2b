/** Starts a stopped (or resumes a paused) container. */
import { startContainer as start } from '../../../engines/docker/containerOps';
import type { Services } from '../../services';
import { containerAction } from './containerAction';

export function startContainer(services: Services, node?: unknown): Promise<string | undefined> {
  return containerAction(services, node, 'starting', ['exited', 'created', 'dead', 'paused'], async (docker, id) => {
    const state = (await docker.getContainer(id).inspect()).State;
    return state.Paused ? docker.getContainer(id).unpause() : start(docker, id);
  });
}
