/**
 * A registry's API base URL from what users type ("host:port", "docker.io", "https://...").
 * Docker's rule: loopback registries speak plain HTTP, everything else HTTPS unless a scheme says so.
 */
import { WharfError } from '../core/errors';

export interface RegistryAddress {
  /** As used in image references: "127.0.0.1:5000", "docker.io". */
  name: string;
  /** Where the API answers: "http://127.0.0.1:5000", "https://registry-1.docker.io". */
  baseUrl: string;
}

export function parseRegistryAddress(input: string): RegistryAddress {
  const trimmed = input.trim().replace(/\/+$/, '');
  const explicit = /^(https?):\/\//.exec(trimmed);
  const name = trimmed.replace(/^https?:\/\//, '');
  if (!name || /[\s/]/.test(name)) {
    throw new WharfError({ code: 'bad-input', object: `registry "${input}"`, cause: 'not a host[:port]', remedy: 'Use a form like registry.example.com or 127.0.0.1:5000' });
  }
  if (name === 'docker.io' || name === 'index.docker.io' || name === 'registry-1.docker.io') {
    return { name: 'docker.io', baseUrl: 'https://registry-1.docker.io' };
  }
  const host = name.replace(/:\d+$/, '');
  const loopback = host === 'localhost' || /^127\./.test(host) || host === '[::1]';
  const scheme = explicit ? explicit[1] : loopback ? 'http' : 'https';
  return { name, baseUrl: `${scheme}://${name}` };
}
