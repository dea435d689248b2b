/**
 * Opens `docker exec -it <container> sh` in a terminal. The terminal runs docker directly with an
 * argument array (shellPath + shellArgs), so no user text is ever parsed by a shell; `-H` /
 * `--context` point the docker CLI at the same engine the tree shows.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import type { EngineEndpoint } from '../../../engines/docker/endpoint';
import type { EngineConfig } from '../../../engines/docker/engineSet';
import type { Services } from '../../services';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import { pickContainer } from './pick';

/** docker CLI flags that select the engine, mirroring how Wharf reached it. */
export function engineFlags(config: EngineConfig, endpoint: EngineEndpoint): string[] {
  if (config.context) return ['--context', config.context];
  switch (endpoint.kind) {
    case 'unix':
      return ['-H', `unix://${endpoint.socketPath}`];
    case 'ssh':
      return ['-H', endpoint.url];
    case 'tcp': {
      const flags = ['-H', `tcp://${endpoint.host}:${endpoint.port}`];
      if (!endpoint.tls) return flags;
      flags.push(endpoint.tls.verify ? '--tlsverify' : '--tls');
      const dir = endpoint.tls.certDir;
      if (dir) flags.push('--tlscacert', path.join(dir, 'ca.pem'), '--tlscert', path.join(dir, 'cert.pem'), '--tlskey', path.join(dir, 'key.pem'));
      return flags;
    }
  }
}

export async function openContainerShell(services: Services, node?: unknown, _selected?: unknown, shell = 'sh'): Promise<vscode.Terminal | undefined> {
  if (!requireTrust('Opening a shell in a container')) return undefined;
  const { engineId, container } = await pickContainer(services, node, ['running']);
  const handle = dockerExplorer(services).engines.get(engineId);
  if (!handle) return undefined;
  const { endpoint } = await handle.connect();
  const terminal = vscode.window.createTerminal({
    name: `${container.name} (${handle.config.name})`,
    shellPath: 'docker',
    shellArgs: [...engineFlags(handle.config, endpoint), 'exec', '-it', container.id, shell],
    iconPath: new vscode.ThemeIcon('terminal'),
  });
  terminal.show();
  return terminal;
}
