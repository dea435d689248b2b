/**
 * Where a transfer command reads from and sends to. Commands take a tree node (context menu), or
 * arguments that skip every prompt (tests, other commands), or ask.
 */
import type Docker from 'dockerode';
import * as vscode from 'vscode';
import { WharfError } from '../../engines/core/errors';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { parseHost } from '../../engines/docker/endpoint';
import { candidateHosts } from '../dedup/hosts';
import { dockerExplorer } from '../docker/explorer';
import type { Services } from '../services';
import { settings } from '../settings';

export interface LocalEngine {
  docker: Docker;
  release(): void;
}

/** The engine of a tree node, an explicit engine URL, or the first configured engine. */
export async function localEngine(services: Services, engineId?: string, engineHost?: string): Promise<LocalEngine> {
  if (engineId) return { docker: await dockerExplorer(services).engines.docker(engineId), release: () => undefined };
  if (engineHost) {
    const docker = await connectEngine(parseHost(engineHost), { sshConfigFile: settings.sshConfigFile() });
    return { docker, release: () => closeEngine(docker) };
  }
  const first = dockerExplorer(services).engines.list[0];
  if (!first) throw new WharfError({ code: 'not-found', object: 'Docker engine', cause: 'no engine is configured', remedy: 'Add one in wharf.engines' });
  return { docker: await first.docker(), release: () => undefined };
}

export async function pickHost(title: string, preset?: string): Promise<string | undefined> {
  if (preset) return preset;
  const hosts = await candidateHosts(settings.sshHosts(), settings.sshConfigFile());
  return vscode.window.showQuickPick(hosts, {
    title,
    placeHolder: hosts.length ? 'an SSH host (alias from the ssh config, or from wharf.ssh.hosts)' : 'add hosts in wharf.ssh.hosts or ~/.ssh/config',
    ignoreFocusOut: true,
  });
}
