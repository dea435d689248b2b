/**
 * Images → right-click → Sync to Host (dedup)…: pick a host (or take it from the arguments), run
 * the dedup sync with a cancellable notification, and show its figures in a webview of its own.
 * Arguments let tests and other commands skip every prompt.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type Docker from 'dockerode';
import { describeParams } from '../../engines/dedup/chunker';
import { DEFAULT_CHUNKER } from '../../engines/dedup/chunker';
import { syncHistory, syncImage, type HistoryEntry } from '../../engines/dedup/sync';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { parseHost } from '../../engines/docker/endpoint';
import { WharfError, messageOf } from '../../engines/core/errors';
import { dockerExplorer } from '../docker/explorer';
import type { ImageNode } from '../docker/nodes';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { settings } from '../settings';
import { requireTrust } from '../trust';
import { candidateHosts } from './hosts';
import { SyncPanel, type SyncPanelState } from './syncPanel';

/** What a caller may pass instead of a tree node; every field skips one prompt. */
export interface SyncToHostArgs {
  image: string;
  host?: string;
  /** A Docker engine URL (unix://, tcp://, ssh://); else the first configured engine. */
  engineHost?: string;
  poolPath?: string;
  remotePool?: string;
  sshConfigFile?: string;
}

export function poolPath(services: Services): string {
  const configured = vscode.workspace.getConfiguration('wharf').get<string>('dedup.poolPath', '');
  return configured || path.join(services.context.globalStorageUri.fsPath, 'dedup-pool');
}

export async function syncToHost(services: Services, target?: ImageNode | SyncToHostArgs): Promise<SyncPanelState | undefined> {
  if (!requireTrust('Sync to host')) return undefined;
  if (!target) {
    void vscode.window.showInformationMessage('Wharf: right-click an image in the Images view and choose Sync to Host (dedup)…');
    return undefined;
  }
  const args: SyncToHostArgs = 'type' in target && target.type === 'image' ? { image: target.image.reference } : (target as SyncToHostArgs);
  const sshConfigFile = args.sshConfigFile ?? settings.sshConfigFile();
  let host = args.host;
  if (!host) {
    const hosts = await candidateHosts(settings.sshHosts(), sshConfigFile);
    host = await vscode.window.showQuickPick(hosts, { title: `Sync ${args.image} to…`, placeHolder: hosts.length ? 'an SSH host (alias or ssh://user@host:port)' : 'add hosts in wharf.ssh.hosts or ~/.ssh/config', ignoreFocusOut: true });
    if (!host) return undefined;
  }
  let docker: Docker;
  let ownDocker = false;
  if ('type' in target && target.type === 'image') docker = await dockerExplorer(services).engines.docker(target.engineId);
  else if (args.engineHost) {
    docker = await connectEngine(parseHost(args.engineHost), { sshConfigFile });
    ownDocker = true;
  } else {
    const first = dockerExplorer(services).engines.list[0];
    if (!first) throw new WharfError({ code: 'not-found', object: 'Docker engine', cause: 'no engine is configured', remedy: 'Add one in wharf.engines' });
    docker = await first.docker();
  }
  const pool = args.poolPath ?? poolPath(services);
  const panel = services.track(new SyncPanel(services.context.extensionUri, `Sync ${args.image} → ${host}`, describeParams(DEFAULT_CHUNKER)));
  const history = async () => syncHistory(pool, host as string).catch((): HistoryEntry[] => []);
  panel.update({ history: await history() });
  try {
    const figures = await withEditorProgress(`Wharf: syncing ${args.image} to ${host}`, ({ signal, progress }) =>
      syncImage(args.image, {
        docker,
        host: host as string,
        poolDir: pool,
        sshConfigFile,
        remote: args.remotePool ? { dir: args.remotePool } : undefined,
        signal,
        progress,
        log: services.log,
        ssh: {
          acceptUnknownKey: async (name, fingerprint) =>
            (await vscode.window.showWarningMessage(`The host key of ${name} is not known. Fingerprint: ${fingerprint}. Trust it?`, { modal: true }, 'Trust and Connect')) === 'Trust and Connect',
        },
        onFigures: (f) => panel.update({ figures: f }),
      }),
    );
    panel.update({ figures, done: true, history: await history() });
    services.log.info(`dedup: synced ${args.image} to ${host}: ${figures.chunksSent}/${figures.chunksTotal} chunks sent, ${figures.wireBytes} bytes on the wire`);
  } catch (error) {
    panel.update({ done: true, error: messageOf(error), history: await history() });
    throw error;
  } finally {
    if (ownDocker) closeEngine(docker);
  }
  return panel.state;
}
