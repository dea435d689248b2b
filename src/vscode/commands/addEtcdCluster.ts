/** "Add etcd Cluster…": asks for a name and endpoints, and appends it to wharf.etcd.clusters. */
import * as vscode from 'vscode';
import { messageOf } from '../../engines/core/errors';
import { parseEndpoints } from '../../engines/etcd/connection';
import type { Services } from '../services';
import { settings } from '../settings';

export async function addEtcdCluster(services: Services, preset?: { name?: string; endpoints?: string }): Promise<void> {
  const endpoints =
    preset?.endpoints ??
    (await vscode.window.showInputBox({
      title: 'Add etcd Cluster (1/2)',
      prompt: 'Endpoints, comma separated (host:port or http(s)://host:port)',
      placeHolder: '10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379',
      ignoreFocusOut: true,
      validateInput: (value) => {
        try {
          return parseEndpoints(value).length ? undefined : 'Give at least one endpoint';
        } catch (error) {
          return messageOf(error);
        }
      },
    }));
  if (!endpoints) return;
  const name = preset?.name ?? (await vscode.window.showInputBox({ title: 'Add etcd Cluster (2/2)', prompt: 'A name for this cluster', value: 'etcd', ignoreFocusOut: true }));
  if (!name) return;
  await settings.append('etcd.clusters', { name, endpoints: parseEndpoints(endpoints) });
  services.log.info(`added etcd cluster ${name}`);
}
