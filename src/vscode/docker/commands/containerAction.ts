/** Start, stop and restart share this shape: pick, check trust, act in a progress notification, refresh. */
import type Docker from 'dockerode';
import type { ContainerState } from '../../../engines/docker/containers';
import type { Services } from '../../services';
import { withEditorProgress } from '../../progress';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import { pickContainer } from './pick';

export async function containerAction(
  services: Services,
  node: unknown,
  verb: string,
  states: ContainerState[],
  act: (docker: Docker, id: string) => Promise<unknown>,
): Promise<string | undefined> {
  if (!requireTrust(`${verb[0].toUpperCase()}${verb.slice(1)} a container`)) return undefined;
  const { engineId, container } = await pickContainer(services, node, states);
  const explorer = dockerExplorer(services);
  const docker = await explorer.engines.docker(engineId);
  await withEditorProgress(`${verb[0].toUpperCase()}${verb.slice(1)} ${container.name}`, () => act(docker, container.id));
  services.log.info(`${verb} ${container.name} on ${engineId}`);
  explorer.refresh.refresh('containers', 'command');
  return container.id;
}
