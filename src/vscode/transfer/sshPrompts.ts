/**
 * The editor's SSH prompts for transfers: a first-contact host key shown with its fingerprint in a
 * modal; a key passphrase asked in a password box and kept in SecretStorage only if the user says
 * so. A changed key is refused by the engine (connectSsh) and never put to the user.
 */
import * as vscode from 'vscode';
import type { SshConnectOptions } from '../../engines/ssh/connection';
import { openHost, type OpenHost } from '../../engines/transfer/host';
import type { Services } from '../services';
import { settings } from '../settings';

const secretKey = (host: string, prompt: string) => `wharf.ssh.secret/${host}/${prompt}`;

export function sshPrompts(services: Services, host: string): SshConnectOptions & { forgetSecrets(): Promise<void> } {
  const asked: string[] = [];
  return {
    acceptUnknownKey: async (name, fingerprint) => {
      const accept = 'Accept and Connect';
      const choice = await vscode.window.showWarningMessage(
        `Wharf: ${name} is not in known_hosts. Its host key fingerprint is ${fingerprint}. Connect only if this is the key you expect; it will be recorded in known_hosts.`,
        { modal: true },
        accept,
      );
      return choice === accept;
    },
    askSecret: async (prompt) => {
      const key = secretKey(host, prompt);
      asked.push(key);
      const stored = await services.secrets.get(key);
      if (stored) return stored;
      const value = await vscode.window.showInputBox({ title: `Wharf: ${host}`, prompt, password: true, ignoreFocusOut: true });
      if (!value) return undefined;
      const remember = 'Remember in Secret Storage';
      const choice = await vscode.window.showInformationMessage(`Wharf: keep this secret for ${host} in VS Code's secret storage?`, remember, 'Only This Time');
      if (choice === remember) await services.secrets.store(key, value);
      return value;
    },
    /** A stored secret that did not work is dropped, so the next attempt asks again. */
    async forgetSecrets() {
      for (const key of asked) await services.secrets.delete(key);
    },
  };
}

export async function openEditorHost(services: Services, host: string, sshConfigFile?: string): Promise<OpenHost> {
  const prompts = sshPrompts(services, host);
  try {
    return await openHost({ host, configFile: sshConfigFile ?? settings.sshConfigFile(), ssh: prompts });
  } catch (error) {
    if ((error as { code?: string }).code === 'unauthorized') await prompts.forgetSecrets();
    throw error;
  }
}
