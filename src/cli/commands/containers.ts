/** `wharf containers`: the Containers tree as a table, grouped by compose project. */
import { groupContainers, listContainers } from '../../engines/docker/containers';
import type { ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';
import { ENGINE_FLAGS, withEngine } from './engineFlags';

export const containers: CliCommand = {
  name: 'containers',
  summary: 'list the containers of an engine, grouped by compose project',
  usage: 'wharf containers [--host URL | --context NAME] [--ssh-config FILE] [--json]',
  valueFlags: ENGINE_FLAGS,
  async run(args: ParsedArgs) {
    const groups = await withEngine(args, async (docker, endpoint) => groupContainers(await listContainers(docker, `engine ${endpoint.label}`)));
    if (args.flags.has('json')) printJson(groups);
    else {
      printTable(
        groups.flatMap((group) => group.containers.map((container) => ({ project: group.project ?? '-', name: container.name, state: container.state, image: container.image, status: container.status, ports: container.ports.join(', ') }))),
        ['project', 'name', 'state', 'image', 'status', 'ports'],
      );
    }
    return 0;
  },
};
