/** The one table of command ids and their handlers. Each verb lives in its own file. */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { about } from './about';
import { addEtcdCluster } from './addEtcdCluster';
import { checkConnections } from './checkConnections';
import { dockerCommands } from '../docker/commands';
import { etcdCommands } from '../etcd/commands/table';
import { registryCommands } from '../registries/table';
import { cleanHostPool } from '../dedup/cleanHostPool';
import { syncToHost } from '../dedup/syncToHost';
import { switchover, switchoverRollback } from '../switchover/switchover';
import { transferCommands } from '../transfer/table';
import { buildCommands } from '../builds/table';
import { layersCommands } from '../layers/commands';
import { showErrorMessage } from './errors';

// Handlers declare their own argument types; VS Code passes whatever the caller gave.
type Handler = (services: Services, ...args: never[]) => unknown;

const table: Record<string, Handler> = {
  'wharf.about': about,
  'wharf.showLog': (services) => services.log.show(),
  'wharf.checkConnections': checkConnections,
  'wharf.openSettings': () => vscode.commands.executeCommand('workbench.action.openSettings', '@ext:wharf.wharf'),
  'wharf.addEtcdCluster': addEtcdCluster,
  // Docker explorer (Images and Containers views): one file per verb under src/vscode/docker/commands.
  ...dockerCommands,
  // etcd Keys view: src/vscode/etcd/commands.
  ...etcdCommands,
  // Registries view and promotion (including wharf.addRegistry, with auth).
  ...registryCommands,
  // Deduplicated sync over SSH: src/vscode/dedup.
  'wharf.syncToHost': syncToHost,
  'wharf.cleanHostPool': cleanHostPool,
  // Zero-downtime switchover through etcd and the proxy: src/vscode/switchover.
  'wharf.switchover': switchover,
  'wharf.switchoverRollback': switchoverRollback,
  // Send/save/load/export over SSH and to files: src/vscode/transfer.
  ...transferCommands,
  // Build on commit and the package cache: src/vscode/builds.
  ...buildCommands,
  // Dockerfile layer cache (Build with Wharf, the Layer cache view): src/vscode/layers.
  ...layersCommands,
};

export function registerCommands(services: Services): void {
  for (const [id, handler] of Object.entries(table)) {
    services.track(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await (handler as (services: Services, ...rest: unknown[]) => unknown)(services, ...args);
        } catch (error) {
          showErrorMessage(services, id, error);
          return undefined;
        }
      }),
    );
  }
}
