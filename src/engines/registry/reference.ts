/**
 * Image references, parsed once into typed values (the model is go-containerregistry's pkg/name):
 * a Reference holds a repository that lives in a registry, plus a tag and/or a digest.
 * Docker Hub's defaults ("docker.io", "library/", "latest") are applied here and nowhere else.
 */
import { WharfError } from '../core/errors';
import { parseRegistryAddress, type RegistryAddress } from './address';

export const DOCKER_HUB = 'docker.io';
export const DEFAULT_TAG = 'latest';

// The distribution spec's grammar (reference/regexp.go in distribution), anchored per part.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:localhost|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d{1,5})?$/;
const MAX_NAME = 255;

export interface Repository {
  /** The registry as written in references: "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** Path inside the registry: "library/busybox", "team/app". */
  repository: string;
}

export interface Reference extends Repository {
  tag?: string;
  digest?: string;
  /** True when the input named its registry (so the image is not a local-only name). */
  explicitRegistry: boolean;
}

function bad(input: string, cause: string, remedy = 'Use a form like registry.example.com/team/app:1.0 or app@sha256:<64 hex>'): WharfError {
  return new WharfError({ code: 'bad-input', object: `image reference "${input}"`, cause, remedy });
}

/** Splits "host[:port]/path" the way Docker does: the first part is a host only if it looks like one. */
function splitRegistry(name: string): { registry: string; path: string; explicit: boolean } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    return { registry: first, path: name.slice(slash + 1), explicit: true };
  }
  return { registry: DOCKER_HUB, path: name, explicit: false };
}

export function normalizeRegistry(registry: string): string {
  return registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? DOCKER_HUB : registry;
}

/**
 * Parses "name[:tag][@digest]". Without tag or digest the tag defaults to "latest" unless
 * `defaultTag: false` is passed (for repository-only inputs such as "wharf registry tags REPO").
 */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): Reference {
  const text = input.trim();
  if (!text) throw bad(input, 'empty');
  if (/\s/.test(text)) throw bad(input, 'contains whitespace');
  if (/^[a-z]+:\/\//i.test(text)) throw bad(input, 'a reference has no scheme', `Drop the scheme: ${text.replace(/^[a-z]+:\/\//i, '')}`);

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(input, `"${digest}" is not a digest`, 'A digest looks like sha256:<64 hex characters>');
    if (digest.startsWith('sha256:') && !SHA256.test(digest)) throw bad(input, 'a sha256 digest has 64 lowercase hex characters');
  }
  let tag: string | undefined;
  // A colon after the last slash starts the tag; one before it belongs to host:port.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(input, `"${tag}" is not a valid tag`, 'Tags are up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  const { registry, path, explicit } = splitRegistry(rest);
  if (!HOST.test(registry)) throw bad(input, `"${registry}" is not a registry host[:port]`);
  if (!path) throw bad(input, 'no repository name');
  if (path.length > MAX_NAME) throw bad(input, `repository name longer than ${MAX_NAME} characters`);
  for (const component of path.split('/')) {
    if (!COMPONENT.test(component)) {
      const hint = /[A-Z]/.test(component) ? 'Repository names are lowercase' : 'Use lowercase letters, digits and single "." "_" "-" separators between "/"-separated parts';
      throw bad(input, `"${component}" is not a valid repository path component`, hint);
    }
  }
  const normalized = normalizeRegistry(registry);
  const repository = normalized === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  if (!tag && !digest && options.defaultTag !== false) tag = DEFAULT_TAG;
  return { registry: normalized, repository, tag, digest, explicitRegistry: explicit };
}

/** Parses "host[:port]/path" with no tag or digest allowed. */
export function parseRepository(input: string): Repository {
  const ref = parseReference(input, { defaultTag: false });
  if (ref.tag || ref.digest) throw bad(input, 'a repository has no tag or digest', `Use ${formatRepository(ref)}`);
  return { registry: ref.registry, repository: ref.repository };
}

/** What to put in /v2/<name>/manifests/<here>: the digest when there is one (it is exact), else the tag. */
export function manifestRef(ref: Reference): string {
  const value = ref.digest ?? ref.tag;
  if (!value) throw bad(formatReference(ref), 'needs a tag or a digest');
  return value;
}

export function formatRepository(repo: Repository): string {
  return `${repo.registry}/${repo.repository}`;
}

/** The full form, always with the registry: "docker.io/library/busybox:latest". */
export function formatReference(ref: Reference): string {
  return `${formatRepository(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The familiar short form Docker prints: "busybox:latest" for Docker Hub official images. */
export function familiarReference(ref: Reference): string {
  let name = formatRepository(ref);
  if (ref.registry === DOCKER_HUB) name = ref.repository.replace(/^library\//, '');
  return `${name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

export function withTag(repo: Repository, tag: string): Reference {
  if (!TAG.test(tag)) throw bad(`${formatRepository(repo)}:${tag}`, `"${tag}" is not a valid tag`);
  return { registry: repo.registry, repository: repo.repository, tag, explicitRegistry: true };
}

export function withDigest(repo: Repository, digest: string): Reference {
  if (!DIGEST.test(digest)) throw bad(`${formatRepository(repo)}@${digest}`, `"${digest}" is not a digest`);
  return { registry: repo.registry, repository: repo.repository, digest, explicitRegistry: true };
}

/** Where the registry's API answers (docker.io → https://registry-1.docker.io). */
export function registryAddress(registry: string): RegistryAddress {
  return parseRegistryAddress(registry);
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}
