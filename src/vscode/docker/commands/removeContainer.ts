/** Removes a container after a modal confirmation; a running one is stopped and removed (force). */
import { removeContainer as remove } from '../../../engines/docker/containerOps';
import type { Services } from '../../services';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import { confirm, pickContainer, type CommandOptions } from './pick';

export async function removeContainer(services: Services, node?: unknown, _selected?: unknown, options?: CommandOptions): Promise<string | undefined> {
  if (!requireTrust('Removing a container')) return undefined;
  const { engineId, container } = await pickContainer(services, node);
  const running = container.state === 'running' || container.state === 'restarting' || container.state === 'paused';
  const message = `Remove the container ${container.name}${running ? ' (it is running and will be killed)' : ''}? Its writable layer is lost.`;
  if (!(await confirm(message, 'Remove', options))) return undefined;
  const explorer = dockerExplorer(services);
  await remove(await explorer.engines.docker(engineId), container.id, { force: running });
  services.log.info(`removed container ${container.name}`);
  explorer.refresh.refresh('containers', 'command');
  return container.id;
}
