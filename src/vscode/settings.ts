/** Typed reads of Wharf's settings. Secrets never live here (see secrets.ts). */
import * as vscode from 'vscode';

export interface EngineSetting {
  name: string;
  host?: string;
  context?: string;
}

export interface RegistrySetting {
  name?: string;
  address: string;
  username?: string;
  /** anonymous, basic (user + password), token (a token, with or without a user), docker (~/.docker/config.json). */
  auth?: 'anonymous' | 'basic' | 'token' | 'docker';
}

export interface EtcdClusterSetting {
  name: string;
  endpoints: string[];
  username?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

const section = () => vscode.workspace.getConfiguration('wharf');

export const settings = {
  engines: () => section().get<EngineSetting[]>('engines', []),
  showDefaultEngine: () => section().get<boolean>('showDefaultEngine', true),
  registries: () => section().get<RegistrySetting[]>('registries', []),
  /** Promotion stages when the workspace has no .wharf/pipeline.json. */
  pipeline: () => section().get<{ stages?: unknown[] } | undefined>('pipeline'),
  etcdClusters: () => section().get<EtcdClusterSetting[]>('etcd.clusters', []),
  sshConfigFile: () => section().get<string>('ssh.configFile', '') || undefined,
  sshHosts: () => section().get<string[]>('ssh.hosts', []),
  /** Appends to a list setting where the user keeps it: the workspace if set there, else the user settings. */
  async append<T>(key: 'registries' | 'etcd.clusters' | 'engines' | 'ssh.hosts', item: T): Promise<void> {
    const config = section();
    const inspected = config.inspect<T[]>(key);
    const target = inspected?.workspaceValue ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    const current = (target === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) ?? [];
    await config.update(key, [...current, item], target);
  },
};
