/**
 * Where registry credentials come from when the caller gives none: ~/.docker/config.json, the same
 * file `docker login` writes. Per-registry `credHelpers`, then the `credsStore`, then `auths`.
 * Helpers run with execFile (argv, the server URL on stdin), never through a shell.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WharfError, messageOf } from '../core/errors';
import { DOCKER_HUB } from './reference';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker config "identitytoken", or a helper's "<token>" user). */
  identityToken?: string;
  /** A bearer token to send as is (some registries hand these out directly). */
  registryToken?: string;
}

/** Gives credentials for a registry name ("docker.io", "127.0.0.1:5000"), or undefined for anonymous. */
export type CredentialSource = (registry: string) => Promise<RegistryCredentials | undefined>;

export const anonymous: CredentialSource = async () => undefined;

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json');
}

/** The keys `docker login` may have used for a registry. Docker Hub has its historical v1 URL. */
function configKeys(registry: string): string[] {
  if (registry === DOCKER_HUB) return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

function hostOfKey(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

export interface DockerConfigOptions {
  configFile?: string;
  /** The environment helpers run with (PATH decides which docker-credential-* is found). */
  env?: NodeJS.ProcessEnv;
}

/** Credentials from ~/.docker/config.json and its helpers. Read on each call (users log in while we run). */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialSource {
  return async (registry) => {
    const file = options.configFile ?? dockerConfigPath(options.env);
    let config: DockerConfig;
    try {
      config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new WharfError({ code: 'bad-input', object: file, cause: `cannot read docker config: ${messageOf(error)}`, remedy: 'Fix the JSON, or run docker login again' });
    }
    const keys = configKeys(registry);
    const helper = keys.map((key) => config.credHelpers?.[key]).find(Boolean) ?? config.credsStore;
    if (helper) {
      const fromHelper = await runCredentialHelper(helper, registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry, options.env);
      if (fromHelper) return fromHelper;
    }
    const auths = config.auths ?? {};
    const key = keys.find((candidate) => auths[candidate]) ?? Object.keys(auths).find((candidate) => keys.includes(hostOfKey(candidate)) || hostOfKey(candidate) === registry);
    const entry = key ? auths[key] : undefined;
    if (!entry) return undefined;
    const credentials: RegistryCredentials = {};
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        credentials.username = decoded.slice(0, colon);
        credentials.password = decoded.slice(colon + 1);
      }
    }
    if (entry.username) credentials.username = entry.username;
    if (entry.password) credentials.password = entry.password;
    if (entry.identitytoken) credentials.identityToken = entry.identitytoken;
    if (entry.registrytoken) credentials.registryToken = entry.registrytoken;
    return Object.keys(credentials).length ? credentials : undefined;
  };
}

/** Runs `docker-credential-<name> get` with the server URL on stdin, as the docker CLI does. */
export function runCredentialHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistryCredentials | undefined> {
  if (!/^[\w.-]+$/.test(name)) {
    return Promise.reject(new WharfError({ code: 'bad-input', object: `credential helper "${name}"`, cause: 'not a helper name', remedy: 'Fix credHelpers/credsStore in ~/.docker/config.json' }));
  }
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { env, timeout: 30_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) {
        // The helper's way of saying "no entry": anonymous, not a failure.
        if (/credentials not found/i.test(output)) return resolve(undefined);
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        return reject(
          new WharfError({
            code: 'unauthorized',
            object: `credential helper ${program}`,
            cause: missing ? 'not found on PATH' : `failed: ${output.trim().split('\n')[0] || messageOf(error)}`,
            remedy: missing ? `Install ${program}, or remove it from ~/.docker/config.json` : `Run docker login ${serverUrl} again`,
          }),
        );
      }
      try {
        const parsed = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!parsed.Secret) return resolve(undefined);
        // "<token>" as the user marks an identity token (docker's convention).
        if (parsed.Username === '<token>') return resolve({ identityToken: parsed.Secret });
        resolve({ username: parsed.Username, password: parsed.Secret });
      } catch {
        reject(new WharfError({ code: 'unauthorized', object: `credential helper ${program}`, cause: 'answered something that is not JSON', remedy: `Check ${program} get by hand` }));
      }
    });
    child.stdin?.end(serverUrl);
  });
}

/** Tries sources in order; the first that has credentials wins. */
export function firstOf(...sources: CredentialSource[]): CredentialSource {
  return async (registry) => {
    for (const source of sources) {
      const found = await source(registry);
      if (found) return found;
    }
    return undefined;
  };
}

/** Fixed credentials for one registry (what a caller or the editor's secret storage gives). */
export function staticCredentials(map: Record<string, RegistryCredentials | undefined>): CredentialSource {
  return async (registry) => map[registry];
}
