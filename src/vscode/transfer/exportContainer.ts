/** Containers → right-click → Export Container…: docker export | docker import, flattened, here or on a host. */
import * as vscode from 'vscode';
import { EXPORT_WARNING, exportImport, type ExportImportResult } from '../../engines/transfer/exportImport';
import type { OpenHost } from '../../engines/transfer/host';
import type { ContainerNode } from '../docker/nodes';
import { pickContainer } from '../docker/commands/pick';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { openEditorHost } from './sshPrompts';
import { localEngine, pickHost } from './targets';

export interface ExportContainerArgs {
  container?: string;
  /** The new image reference. */
  ref?: string;
  /** An SSH host; "local" (or absent with `ref` given) imports on the container's engine. */
  host?: string;
  engineHost?: string;
  sshConfigFile?: string;
}

const HERE = 'This engine';

export async function exportContainer(services: Services, target?: ContainerNode | ExportContainerArgs, extra?: ExportContainerArgs): Promise<ExportImportResult | undefined> {
  if (!requireTrust('Export container')) return undefined;
  const args: ExportContainerArgs = { ...(target && !('type' in target) ? target : {}), ...extra };
  const node = args.container ? undefined : await pickContainer(services, target);
  const container = args.container ?? node?.container.id ?? '';
  const name = node?.container.name ?? container.slice(0, 12);
  const ref =
    args.ref ??
    (await vscode.window.showInputBox({ title: `Export ${name} as an image`, prompt: `New image reference. ${EXPORT_WARNING}`, value: `${name}-flat:latest`, ignoreFocusOut: true }));
  if (!ref) return undefined;
  let host = args.host;
  if (!host && !args.ref) {
    const choice = await vscode.window.showQuickPick([HERE, 'An SSH host…'], { title: `Import ${ref} where?`, ignoreFocusOut: true });
    if (!choice) return undefined;
    host = choice === HERE ? 'local' : await pickHost(`Import ${ref} on…`);
    if (!host) return undefined;
  }
  const remote = host && host !== 'local' ? host : undefined;
  const engine = await localEngine(services, node?.engineId, args.engineHost);
  let opened: OpenHost | undefined;
  try {
    if (remote) opened = await openEditorHost(services, remote, args.sshConfigFile);
    const result = await withEditorProgress(`Wharf: exporting ${name} to ${ref}${remote ? ` on ${remote}` : ''}`, ({ signal, progress }) =>
      exportImport({ docker: engine.docker, container, ref, ssh: opened?.client, host: remote, signal, progress, log: services.log }),
    );
    services.log.info(`wharf.exportContainer: ${container} → ${ref} (${result.imageId}) on ${result.where}`);
    void vscode.window.showInformationMessage(`Wharf: ${ref} imported on ${result.where} (flattened: one layer, no history).`);
    return result;
  } finally {
    opened?.close();
    engine.release();
  }
}
