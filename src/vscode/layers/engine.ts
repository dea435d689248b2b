/**
 * The one place that picks the engine to build and analyse on: the image's own engine when the
 * command comes from the Images tree, else the first engine in `wharf.engines`, else the default
 * engine (DOCKER_HOST, the docker context, the default socket).
 */
import type Docker from 'dockerode';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { engineConfigs } from '../../engines/docker/engineSet';
import { settings } from '../settings';

export interface ChosenEngine {
  docker: Docker;
  /** "name (address)", for records and messages. */
  label: string;
  close(): void;
}

export async function chooseEngine(engineId?: string): Promise<ChosenEngine> {
  const configs = engineConfigs(settings.showDefaultEngine(), settings.engines());
  const config = configs.find((candidate) => candidate.id === engineId) ?? configs.find((candidate) => candidate.host || candidate.context) ?? configs[0];
  const endpoint = await resolveEndpoint({ host: config?.host, context: config?.context });
  const docker = await connectEngine(endpoint, { sshConfigFile: settings.sshConfigFile() });
  return { docker, label: config ? `${config.name} (${endpoint.label})` : endpoint.label, close: () => closeEngine(docker) };
}
