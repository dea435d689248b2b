/**
 * The clusters shown in the etcd view: `wharf.etcd.clusters` plus a default from ETCDCTL_ENDPOINTS.
 * Each opens on first use; a user's password lives in SecretStorage, never in settings.
 */
import * as vscode from 'vscode';
import { WharfError } from '../../engines/core/errors';
import { EtcdCluster } from '../../engines/etcd/cluster';
import { clusterFromEnv, type ClusterConfig } from '../../engines/etcd/connection';
import type { Services } from '../services';
import { settings } from '../settings';

export const ENV_CLUSTER = 'ETCDCTL_ENDPOINTS';
const secretKey = (name: string) => `wharf.etcd.password/${name}`;

export class ClusterRegistry implements vscode.Disposable {
  private readonly open = new Map<string, Promise<EtcdCluster>>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly services: Services) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('wharf.etcd')) this.reset();
    });
  }

  /** Configured clusters first, then the environment's when it names other endpoints. */
  configs(): ClusterConfig[] {
    const configured: ClusterConfig[] = settings.etcdClusters().map((setting) => ({ ...setting, endpoints: [...setting.endpoints] }));
    if (process.env.ETCDCTL_ENDPOINTS) {
      try {
        const fromEnv = { ...clusterFromEnv(process.env), name: ENV_CLUSTER };
        const same = configured.some((config) => config.endpoints.join(',') === fromEnv.endpoints.join(','));
        if (!same) configured.push(fromEnv);
      } catch (error) {
        this.services.log.warn(`ETCDCTL_ENDPOINTS ignored: ${(error as Error).message}`);
      }
    }
    return configured;
  }

  config(name: string): ClusterConfig {
    const config = this.configs().find((candidate) => candidate.name === name);
    if (!config) throw new WharfError({ code: 'not-found', object: `etcd cluster ${name}`, cause: 'not configured', remedy: 'Add it with "Add etcd Cluster…" or in the wharf.etcd.clusters setting' });
    return config;
  }

  async cluster(name: string): Promise<EtcdCluster> {
    let opening = this.open.get(name);
    if (!opening) {
      opening = this.connect(name);
      this.open.set(name, opening);
      opening.catch(() => this.open.delete(name));
    }
    return opening;
  }

  private async connect(name: string): Promise<EtcdCluster> {
    const config = this.config(name);
    if (config.username && config.password === undefined) config.password = (await this.services.secrets.get(secretKey(name))) ?? undefined;
    const maxRequestBytes = vscode.workspace.getConfiguration('wharf').get<number>('etcd.maxRequestBytes');
    this.services.log.info(`etcd: connecting to ${name} (${config.endpoints.join(', ')})`);
    return EtcdCluster.open(config, { maxRequestBytes: maxRequestBytes || undefined });
  }

  async setPassword(name: string, password: string): Promise<void> {
    await this.services.secrets.store(secretKey(name), password);
    this.drop(name);
    this.changed.fire();
  }

  private drop(name: string): void {
    void this.open.get(name)?.then((cluster) => cluster.close(), () => undefined);
    this.open.delete(name);
  }

  reset(): void {
    for (const name of [...this.open.keys()]) this.drop(name);
    this.changed.fire();
  }

  dispose(): void {
    for (const name of [...this.open.keys()]) this.drop(name);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
