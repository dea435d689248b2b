/** Load Image from File…: an open dialog, then docker load into an engine or an SSH host. */
import * as vscode from 'vscode';
import { loadImageFromFile, type LoadResult } from '../../engines/transfer/file';
import type { OpenHost } from '../../engines/transfer/host';
import type { EngineNode } from '../docker/nodes';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { openEditorHost } from './sshPrompts';
import { localEngine, pickHost } from './targets';

export interface LoadImageArgs {
  file?: string;
  /** An SSH host; "local" loads into the engine. */
  host?: string;
  engineHost?: string;
  sshConfigFile?: string;
}

const HERE = 'The engine';

export async function askArchive(title: string, preset?: string): Promise<string | undefined> {
  if (preset) return preset;
  const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { 'Archives': ['tar', 'gz', 'tgz'] } });
  return picked?.[0]?.fsPath;
}

export async function askWhere(title: string, preset?: string): Promise<string | undefined> {
  if (preset) return preset;
  const choice = await vscode.window.showQuickPick([HERE, 'An SSH host…'], { title, ignoreFocusOut: true });
  if (!choice) return undefined;
  return choice === HERE ? 'local' : pickHost(title);
}

export async function loadImage(services: Services, target?: EngineNode | LoadImageArgs, extra?: LoadImageArgs): Promise<LoadResult | undefined> {
  if (!requireTrust('Load image')) return undefined;
  const node = target && 'type' in target && target.type === 'engine' ? target : undefined;
  const args: LoadImageArgs = { ...(node ? {} : (target as LoadImageArgs | undefined)), ...extra };
  const file = await askArchive('Load Image from File', args.file);
  if (!file) return undefined;
  const where = await askWhere('Load the image into…', args.host ?? (node ? 'local' : undefined));
  if (!where) return undefined;
  const remote = where !== 'local' ? where : undefined;
  const engine = remote ? undefined : await localEngine(services, node?.engineId, args.engineHost);
  let opened: OpenHost | undefined;
  try {
    if (remote) opened = await openEditorHost(services, remote, args.sshConfigFile);
    const result = await withEditorProgress(`Wharf: loading ${file}`, ({ signal, progress }) =>
      loadImageFromFile({ file, docker: engine?.docker, ssh: opened?.client, host: remote, signal, progress, log: services.log }),
    );
    void vscode.window.showInformationMessage(`Wharf: loaded ${result.loaded.join(', ') || 'the archive'} into ${result.where}.`);
    return result;
  } finally {
    opened?.close();
    engine?.release();
  }
}
