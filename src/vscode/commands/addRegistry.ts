/** "Add Registry…": asks for the address and a label, and appends it to wharf.registries. */
import * as vscode from 'vscode';
import { messageOf } from '../../engines/core/errors';
import { parseRegistryAddress } from '../../engines/registry/address';
import type { Services } from '../services';
import { settings } from '../settings';

export async function addRegistry(services: Services, preset?: { address?: string; name?: string }): Promise<void> {
  const address =
    preset?.address ??
    (await vscode.window.showInputBox({
      title: 'Add Registry (1/2)',
      prompt: 'Registry address: host[:port], or docker.io',
      placeHolder: 'registry.example.com',
      ignoreFocusOut: true,
      validateInput: (value) => {
        try {
          parseRegistryAddress(value);
          return undefined;
        } catch (error) {
          return messageOf(error);
        }
      },
    }));
  if (!address) return;
  const parsed = parseRegistryAddress(address);
  const name =
    preset?.name ??
    (await vscode.window.showInputBox({ title: 'Add Registry (2/2)', prompt: 'A short label (for example the stage: test, stage, prod)', value: parsed.name, ignoreFocusOut: true }));
  if (name === undefined) return;
  await settings.append('registries', { name: name || parsed.name, address: parsed.name });
  services.log.info(`added registry ${parsed.name} (${parsed.baseUrl})`);
}
