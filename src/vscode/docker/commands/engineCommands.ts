/** Actions of an unreachable engine's node: retry it, or choose (add) another engine. */
import * as vscode from 'vscode';
import { parseHost } from '../../../engines/docker/endpoint';
import type { Services } from '../../services';
import { settings } from '../../settings';
import { dockerExplorer } from '../explorer';
import type { EngineNode } from '../nodes';
import { validateWith } from '../../validate';

export function retryEngine(services: Services, node?: EngineNode): void {
  const explorer = dockerExplorer(services);
  if (node?.engineId) explorer.engines.reset(node.engineId);
  else for (const handle of explorer.engines.list) explorer.engines.reset(handle.id);
  explorer.refresh.refreshAll('manual');
  explorer.restartWatches();
}

export async function chooseEngine(services: Services): Promise<void> {
  const host = await vscode.window.showInputBox({
    title: 'Add a Docker Engine',
    prompt: 'Engine address: unix:///path/docker.sock, tcp://host:2376 or ssh://user@host (host keys are checked against known_hosts)',
    placeHolder: 'ssh://deploy@build-1',
    ignoreFocusOut: true,
    validateInput: validateWith((value) => parseHost(value.trim())),
  });
  if (!host) return;
  const name = await vscode.window.showInputBox({ title: 'Add a Docker Engine', prompt: 'Name shown in the trees', value: parseHost(host.trim()).label.replace(/^\w+:\/\//, '') });
  if (!name) return;
  await settings.append('engines', { name, host: host.trim() });
  services.log.info(`added engine ${name} (${host.trim()})`);
}
