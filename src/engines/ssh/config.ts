/**
 * Resolves a host the way OpenSSH does for the options Wharf uses: an alias from ~/.ssh/config or
 * an ssh://user@host:port URL. First value wins, as in ssh_config(5).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WharfError } from '../core/errors';
import { matchesPatternList } from '../core/glob';

export interface SshTarget {
  /** What the user typed: an alias or a URL. */
  name: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  knownHostsFiles: string[];
  /** ProxyJump as written (`A,B`); absent for none. */
  proxyJump?: string;
  /** The config this was resolved from: jump hosts are resolved from the same one, as ssh -F does. */
  configFile?: string;
}

export interface ResolveOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

const expandHome = (file: string) => (file.startsWith('~/') ? path.join(os.homedir(), file.slice(2)) : file);

export async function resolveSshTarget(spec: string, options: ResolveOptions = {}): Promise<SshTarget> {
  const env = options.env ?? process.env;
  const defaultUser = env.USER ?? os.userInfo().username;
  let alias = spec;
  let fromUrl: Partial<SshTarget> = {};
  if (spec.startsWith('ssh://')) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new WharfError({ code: 'bad-input', object: `SSH host "${spec}"`, cause: 'not a valid ssh:// URL', remedy: 'Use ssh://user@host:port or an alias from ~/.ssh/config' });
    }
    alias = url.hostname;
    fromUrl = { user: url.username ? decodeURIComponent(url.username) : undefined, port: url.port ? Number(url.port) : undefined };
  } else if (spec.includes('@')) {
    const [user, rest] = [spec.slice(0, spec.lastIndexOf('@')), spec.slice(spec.lastIndexOf('@') + 1)];
    alias = rest;
    fromUrl = { user };
  }
  const configFile = options.configFile ?? path.join(os.homedir(), '.ssh', 'config');
  const settings = await readHostSettings(configFile, alias);
  const identityFiles = (settings.identityfile ?? []).map(expandHome);
  const knownHostsFiles = (settings.userknownhostsfile?.[0]?.split(/\s+/) ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).map(expandHome);
  return {
    name: spec,
    host: settings.hostname?.[0] ?? alias,
    port: fromUrl.port ?? Number(settings.port?.[0] ?? 22),
    user: fromUrl.user ?? settings.user?.[0] ?? defaultUser,
    identityFiles: identityFiles.length ? identityFiles : ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'].map(expandHome),
    knownHostsFiles,
    // `ProxyJump none` in an earlier block wins over a later one, and means a direct connection.
    proxyJump: settings.proxyjump?.[0]?.toLowerCase() === 'none' ? undefined : settings.proxyjump?.[0],
    configFile,
  };
}

/** Options for one host, lower-cased keys; IdentityFile accumulates, the rest keep the first value. */
async function readHostSettings(configFile: string, alias: string): Promise<Record<string, string[]>> {
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch {
    return {};
  }
  const settings: Record<string, string[]> = {};
  let applies = true;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(\S+?)\s*(?:=\s*|\s+)(.+)$/.exec(line);
    if (!match) continue;
    const key = match[1].toLowerCase();
    const value = match[2].replace(/^"(.*)"$/, '$1');
    if (key === 'host') {
      applies = matchesPatternList(value.split(/\s+/), alias);
      continue;
    }
    if (key === 'match') {
      applies = false; // Match blocks need runtime facts we do not evaluate; skip them.
      continue;
    }
    if (!applies) continue;
    if (key === 'identityfile') (settings[key] ??= []).push(value);
    else settings[key] ??= [value];
  }
  return settings;
}
