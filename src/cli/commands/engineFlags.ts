/** Opens the engine named by --host / --context (else DOCKER_HOST, the current context, the default socket). */
import type Docker from 'dockerode';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { resolveEndpoint, type EngineEndpoint } from '../../engines/docker/endpoint';
import { stringFlag, type ParsedArgs } from '../args';

export const ENGINE_FLAGS = ['host', 'context', 'ssh-config'];

export async function withEngine<T>(args: ParsedArgs, work: (docker: Docker, endpoint: EngineEndpoint) => Promise<T>): Promise<T> {
  const endpoint = await resolveEndpoint({ host: stringFlag(args, 'host'), context: stringFlag(args, 'context') });
  // The CLI never accepts an unknown SSH host key on its own: connect once with ssh to record it.
  const docker = await connectEngine(endpoint, { sshConfigFile: stringFlag(args, 'ssh-config') });
  try {
    return await work(docker, endpoint);
  } finally {
    closeEngine(docker);
  }
}
