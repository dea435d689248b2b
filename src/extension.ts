/**
 * Wharf's entry point. Activation happens only when a Wharf view opens or a Wharf command runs
 * (VS Code derives those events from the manifest). Everything here is wiring; the work lives in
 * src/engines, which never imports vscode.
 */
import type * as vscode from 'vscode';
import { registerCommands } from './vscode/commands/registerCommands';
import type { ContainersTree } from './vscode/docker/containersTree';
import { dockerExplorer } from './vscode/docker/explorer';
import { etcdFeature, type EtcdFeature } from './vscode/etcd/feature';
import { registriesTree } from './vscode/registries/feature';
import type { RegistriesTree } from './vscode/registries/tree';
import type { ImagesTree } from './vscode/docker/imagesTree';
import { Services } from './vscode/services';
import { lastSwitchoverState } from './vscode/switchover/panel';
import { registerTrees } from './vscode/trees/registerTrees';
import { layersFeature } from './vscode/layers/feature';
import { buildsFeature } from './vscode/builds/feature';

let services: Services | undefined;

export function activate(context: vscode.ExtensionContext): { services: Services; trees: { images: ImagesTree; containers: ContainersTree; registries: RegistriesTree }; etcd: EtcdFeature; switchover: { lastState: typeof lastSwitchoverState } } {
  services = new Services(context);
  context.subscriptions.push(services);
  registerCommands(services);
  const docker = dockerExplorer(services);
  const etcd = etcdFeature(services);
  const registries = registriesTree(services);
  const views = registerTrees(services, { 'wharf.images': docker.images, 'wharf.containers': docker.containers, 'wharf.etcd': etcd.tree, 'wharf.registries': registries });
  layersFeature(services);
  // The opt-in build-on-commit trigger watches from activation (it does nothing while the setting is off).
  buildsFeature(services);
  docker.attachViews({ images: views['wharf.images'], containers: views['wharf.containers'] });
  services.log.info(`Wharf ${services.version} activated`);
  return { services, trees: { images: docker.images, containers: docker.containers, registries }, etcd, switchover: { lastState: lastSwitchoverState } };
}

export function deactivate(): void {
  services?.dispose();
  services = undefined;
}
