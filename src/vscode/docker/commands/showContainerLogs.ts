/**
 * Follows a container's logs into an output channel of its own. The engine's frames are
 * demultiplexed (stdout and stderr apart); stderr lines are marked. Following stops when the
 * container stops, when the command runs again for it, or when Wharf is disposed.
 */
import * as vscode from 'vscode';
import { followLogs, type LogStreams } from '../../../engines/docker/containerOps';
import type { Services } from '../../services';
import { dockerExplorer } from '../explorer';
import { pickContainer } from './pick';

const following = new Map<string, { logs: LogStreams; channel: vscode.OutputChannel }>();

export async function showContainerLogs(services: Services, node?: unknown): Promise<string> {
  const { engineId, container } = await pickContainer(services, node);
  const key = `${engineId}/${container.id}`;
  const previous = following.get(key);
  previous?.logs.stop();
  const channel = previous?.channel ?? services.track(vscode.window.createOutputChannel(`Wharf: ${container.name} logs`));
  channel.clear();
  channel.show(true);
  const logs = await followLogs(await dockerExplorer(services).engines.docker(engineId), container.id, { tail: 1000 });
  following.set(key, { logs, channel });
  services.track({ dispose: () => logs.stop() });
  logs.stdout.on('data', (chunk: Buffer) => channel.append(chunk.toString('utf8')));
  let partial = '';
  logs.stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) channel.appendLine(`[stderr] ${line}`);
  });
  logs.stdout.on('end', () => {
    if (following.get(key)?.logs === logs) {
      following.delete(key);
      channel.appendLine(`--- end of logs (${container.name} stopped or the stream closed)`);
    }
  });
  return channel.name;
}
