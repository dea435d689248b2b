/** The Registries view's verbs: refresh, load more, filter, sign in, manifest, copy, pull, delete. */
import * as vscode from 'vscode';
import { WharfError } from '../../engines/core/errors';
import { pullImage } from '../../engines/docker/pull';
import { parseRegistryAddress } from '../../engines/registry/address';
import { familiarReference, parseReference } from '../../engines/registry/reference';
import { dockerExplorer } from '../docker/explorer';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { settings, type RegistrySetting } from '../settings';
import { requireTrust } from '../trust';
import { deleteSecret, editorCredentials, registryName, storeSecret } from './credentials';
import { registriesTree } from './feature';
import { MANIFEST_SCHEME, ManifestDocuments, manifestUri } from './manifestDocument';
import type { DetailNode, ErrorNode, LoadMoreNode, RegistryNode, RegistryTreeNode, RepositoryNode, TagNode } from './tree';
import { validateWith } from '../validate';

let documentsRegistered = new WeakSet<Services>();

function ensureDocuments(services: Services): void {
  if (documentsRegistered.has(services)) return;
  documentsRegistered.add(services);
  services.track(vscode.workspace.registerTextDocumentContentProvider(MANIFEST_SCHEME, new ManifestDocuments(registriesTree(services))));
}

/** Resets the one-per-activation guard (tests re-activate). */
export function resetDocuments(): void {
  documentsRegistered = new WeakSet<Services>();
}

export function refreshCommand(services: Services, node?: RegistryTreeNode): void {
  registriesTree(services).refresh(node);
}

export function loadMoreCommand(services: Services, node: LoadMoreNode): void {
  registriesTree(services).loadMore(node);
}

export async function filterTagsCommand(services: Services, node?: RepositoryNode, preset?: string): Promise<void> {
  if (!node) throw new WharfError({ code: 'bad-input', object: 'filter tags', cause: 'no repository chosen', remedy: 'Right-click a repository in the Registries view' });
  const tree = registriesTree(services);
  const value =
    preset ??
    (await vscode.window.showInputBox({ title: `Filter tags of ${node.repository}`, prompt: 'Show tags containing this text (empty clears the filter)', value: tree.filterOf(node) ?? '', ignoreFocusOut: true }));
  if (value === undefined) return;
  tree.setFilter(node, value.trim());
}

function settingFor(registry: string): RegistrySetting | undefined {
  return settings.registries().find((candidate) => registryName(candidate) === registry);
}

/** Asks for (or takes) the user and the password/token; the secret goes to SecretStorage only. */
export async function signInCommand(services: Services, node?: RegistryNode | ErrorNode, preset?: { auth: 'basic' | 'token' | 'anonymous'; username?: string; secret?: string }): Promise<void> {
  const registry = node?.registry;
  if (!registry) throw new WharfError({ code: 'bad-input', object: 'sign in', cause: 'no registry chosen', remedy: 'Right-click a registry in the Registries view' });
  const auth = preset?.auth ?? (await pickAuth(registry));
  if (!auth) return;
  let username = preset?.username;
  let secret = preset?.secret;
  if (auth !== 'anonymous') {
    username ??= await vscode.window.showInputBox({ title: `Sign in to ${registry}`, prompt: auth === 'token' ? 'User name (leave empty for a bare bearer token)' : 'User name', value: settingFor(registry)?.username ?? '', ignoreFocusOut: true });
    if (username === undefined) return;
    secret ??= await vscode.window.showInputBox({ title: `Sign in to ${registry}`, prompt: auth === 'token' ? 'Access token' : 'Password', password: true, ignoreFocusOut: true });
    if (secret === undefined) return;
    await storeSecret(services.secrets, registry, secret);
  } else {
    await deleteSecret(services.secrets, registry);
  }
  await updateSetting(registry, { auth, username: auth === 'anonymous' ? undefined : username || undefined });
  services.log.info(`registry ${registry}: ${auth} auth${username ? ` as ${username}` : ''} (secret kept in secret storage)`);
  registriesTree(services).refreshRegistry(registry);
}

async function pickAuth(registry: string): Promise<'basic' | 'token' | 'anonymous' | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: '$(key) User and password', value: 'basic' as const },
      { label: '$(shield) Access token', description: 'GHCR, GitLab, Harbor robot accounts…', value: 'token' as const },
      { label: '$(globe) Anonymous', description: 'or whatever ~/.docker/config.json has', value: 'anonymous' as const },
    ],
    { title: `How to sign in to ${registry}`, ignoreFocusOut: true },
  );
  return picked?.value;
}

async function updateSetting(registry: string, patch: Partial<RegistrySetting>): Promise<void> {
  const config = vscode.workspace.getConfiguration('wharf');
  const inspected = config.inspect<RegistrySetting[]>('registries');
  const target = inspected?.workspaceValue ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  const current = (target === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) ?? [];
  const found = current.some((entry) => registryName(entry) === registry);
  const next = found ? current.map((entry) => (registryName(entry) === registry ? { ...entry, ...patch } : entry)) : [...current, { address: registry, ...patch }];
  await config.update('registries', next, target);
}

export async function removeRegistryCommand(services: Services, node?: RegistryNode): Promise<void> {
  if (!node) return;
  const choice = await vscode.window.showWarningMessage(`Remove ${node.label} (${node.registry}) from the Registries view? Its stored secret is deleted too; the registry itself is not touched.`, { modal: true }, 'Remove');
  if (choice !== 'Remove') return;
  const config = vscode.workspace.getConfiguration('wharf');
  const inspected = config.inspect<RegistrySetting[]>('registries');
  for (const [value, target] of [
    [inspected?.workspaceValue, vscode.ConfigurationTarget.Workspace],
    [inspected?.globalValue, vscode.ConfigurationTarget.Global],
  ] as const) {
    if (value?.some((entry) => registryName(entry) === node.registry)) await config.update('registries', value.filter((entry) => registryName(entry) !== node.registry), target);
  }
  await deleteSecret(services.secrets, node.registry);
}

/** Add Registry with its auth: address, label, then anonymous / basic / token. */
export async function addRegistryCommand(services: Services, preset?: { address?: string; name?: string; auth?: 'basic' | 'token' | 'anonymous'; username?: string; secret?: string }): Promise<void> {
  const address =
    preset?.address ??
    (await vscode.window.showInputBox({
      title: 'Add Registry (1/3)',
      prompt: 'Registry address: host[:port], or docker.io',
      placeHolder: 'registry.example.com',
      ignoreFocusOut: true,
      validateInput: validateWith(parseRegistryAddress),
    }));
  if (!address) return;
  const parsed = parseRegistryAddress(address);
  const name = preset?.name ?? (await vscode.window.showInputBox({ title: 'Add Registry (2/3)', prompt: 'A short label (for example the stage: test, stage, prod)', value: parsed.name, ignoreFocusOut: true }));
  if (name === undefined) return;
  const auth = preset?.auth ?? (await pickAuth(parsed.name));
  if (!auth) return;
  await settings.append('registries', { name: name || parsed.name, address: parsed.name, auth: preset ? auth : undefined });
  if (auth !== 'anonymous') await signInCommand(services, { type: 'error', id: '', message: '', action: 'signIn', registry: parsed.name }, { auth, username: preset?.username, secret: preset?.secret });
  services.log.info(`added registry ${parsed.name} (${parsed.baseUrl})`);
  registriesTree(services).refresh();
}

export async function showManifestCommand(services: Services, node?: TagNode): Promise<void> {
  if (!node) return;
  ensureDocuments(services);
  const document = await vscode.workspace.openTextDocument(manifestUri(node.registry, node.repository, node.tag));
  await vscode.languages.setTextDocumentLanguage(document, 'jsonc');
  await vscode.window.showTextDocument(document, { preview: true });
}

export async function copyReferenceCommand(_services: Services, node?: TagNode | { ref?: string }): Promise<string | undefined> {
  const ref = node && 'ref' in node ? node.ref : undefined;
  if (!ref) return undefined;
  await vscode.env.clipboard.writeText(ref);
  void vscode.window.setStatusBarMessage(`Copied ${ref}`, 3000);
  return ref;
}

export async function copyDigestCommand(services: Services, node?: TagNode | DetailNode): Promise<string | undefined> {
  if (!node) return undefined;
  let digest: string | undefined;
  if (node.type === 'detail') digest = node.copy;
  else digest = (await registriesTree(services).client(node.registry).headManifest(node.repository, node.tag))?.digest;
  if (!digest) return undefined;
  const text = node.type === 'tag' ? `${node.registry}/${node.repository}@${digest}` : digest;
  await vscode.env.clipboard.writeText(text);
  void vscode.window.setStatusBarMessage(`Copied ${text}`, 3000);
  return text;
}

/** Pulls the tag into the default engine, with the engine's progress in a cancellable notification. */
export async function pullTagCommand(services: Services, node?: TagNode): Promise<void> {
  if (!node || !requireTrust('Pulling an image')) return;
  const reference = familiarReference(parseReference(node.ref));
  const engines = dockerExplorer(services).engines;
  const docker = await engines.docker('default');
  const credentials = await editorCredentials(services.secrets)(node.registry);
  const authconfig = credentials?.username ? { username: credentials.username, password: credentials.password ?? '', serveraddress: node.registry } : undefined;
  const result = await withEditorProgress(`Pulling ${reference}`, ({ signal, progress }) => pullImage(docker, reference, { signal, progress, log: services.log, authconfig }));
  void vscode.window.showInformationMessage(`Wharf: pulled ${reference}${result.digest ? ` (${result.digest.slice(0, 19)}…)` : ''}`);
}

/** Deletes a tag after a modal confirmation that says what else goes with it on Distribution. */
export async function deleteTagCommand(services: Services, node?: TagNode, options?: { confirmed?: boolean }): Promise<void> {
  if (!node || !requireTrust('Deleting a tag')) return;
  if (!options?.confirmed) {
    const choice = await vscode.window.showWarningMessage(
      `Delete ${node.ref}?`,
      { modal: true, detail: 'Registries without tag deletion (Distribution 2.x) delete the manifest, which removes every tag pointing at the same digest. This cannot be undone.' },
      'Delete',
    );
    if (choice !== 'Delete') return;
  }
  const tree = registriesTree(services);
  const result = await tree.client(node.registry).deleteTag(node.repository, node.tag);
  services.log.info(`deleted ${node.ref} (${result.onlyTag ? 'tag' : `manifest ${result.digest}`})`);
  tree.refresh(node.parent);
}
