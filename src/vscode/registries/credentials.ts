/**
 * Registry credentials in the editor: the user name lives in settings, the password or token in
 * SecretStorage keyed by registry. Registries without either fall back to ~/.docker/config.json
 * (auths and credential helpers), like the CLI.
 */
import type * as vscode from 'vscode';
import { dockerConfigCredentials, type CredentialSource, type RegistryCredentials } from '../../engines/registry/credentials';
import { normalizeRegistry } from '../../engines/registry/reference';
import { parseRegistryAddress } from '../../engines/registry/address';
import { settings, type RegistrySetting } from '../settings';

export const secretKey = (registry: string) => `wharf.registry.secret/${normalizeRegistry(parseRegistryAddress(registry).name)}`;

export function registryName(setting: RegistrySetting): string {
  return normalizeRegistry(parseRegistryAddress(setting.address).name);
}

export async function storeSecret(secrets: vscode.SecretStorage, registry: string, secret: string): Promise<void> {
  await secrets.store(secretKey(registry), secret);
}

export async function deleteSecret(secrets: vscode.SecretStorage, registry: string): Promise<void> {
  await secrets.delete(secretKey(registry));
}

/** One source for every registry the editor talks to. */
export function editorCredentials(secrets: vscode.SecretStorage): CredentialSource {
  const fromDocker = dockerConfigCredentials();
  return async (registry) => {
    const setting = settings.registries().find((candidate) => registryName(candidate) === normalizeRegistry(registry));
    const auth = setting?.auth ?? (setting?.username ? 'basic' : 'docker');
    if (auth === 'anonymous') return undefined;
    if (auth === 'basic' || auth === 'token') {
      const secret = await secrets.get(secretKey(registry));
      if (secret !== undefined) {
        const credentials: RegistryCredentials = setting?.username ? { username: setting.username, password: secret } : { registryToken: secret };
        return credentials;
      }
    }
    return fromDocker(registry);
  };
}
