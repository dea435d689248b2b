/**
 * Registry authentication: anonymous, Basic, and Docker token auth. A registry answers 401 with
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; we fetch a token from the realm (with
 * the user's credentials when we have some), cache it per scope set until it expires, and retry.
 * Once the challenge is known, later requests get their token up front (no extra 401 round trip).
 * Secrets never reach the log.
 */
import { WharfError, fromNetworkError } from '../core/errors';
import type { Logger } from '../core/progress';
import type { CredentialSource, RegistryCredentials } from './credentials';
import { readCapped } from './errors';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
  scope?: string;
  error?: string;
}

/** Parses one WWW-Authenticate value: `Bearer realm="x",service="y",scope="a b"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const pattern = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let param = pattern.exec(match[2]); param; param = pattern.exec(match[2])) {
    params[param[1].toLowerCase()] = (param[2] ?? param[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, realm: params.realm, service: params.service, scope: params.scope, error: params.error };
}

/** "repository:team/app:pull,push" for each repository an operation touches. */
export function repositoryScope(repository: string, actions: ('pull' | 'push' | 'delete' | '*')[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  registry: string;
  credentials?: CredentialSource;
  log?: Logger;
  fetch?: typeof fetch;
}

export class Authenticator {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private credentialsPromise?: Promise<RegistryCredentials | undefined>;

  constructor(private readonly options: AuthenticatorOptions) {}

  private get fetch(): typeof fetch {
    return this.options.fetch ?? fetch;
  }

  private credentials(): Promise<RegistryCredentials | undefined> {
    this.credentialsPromise ??= (this.options.credentials?.(this.options.registry) ?? Promise.resolve(undefined)).catch((error: unknown) => {
      this.credentialsPromise = undefined;
      throw error;
    });
    return this.credentialsPromise;
  }

  /** The Authorization header for a request needing these scopes, if the registry is known to want one. */
  async authorize(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) {
      const credentials = await this.credentials();
      // A bearer token handed to us is sent from the first request.
      return credentials?.registryToken ? `Bearer ${credentials.registryToken}` : undefined;
    }
    if (challenge.scheme === 'basic') return this.basicHeader(await this.credentials());
    return (await this.token(challenge, scopes, signal)).header;
  }

  /**
   * Learns from a 401 and returns the header to retry with, or undefined when retrying cannot help
   * (no credentials for Basic, or the same token was already refused).
   */
  async onUnauthorized(response: Response, scopes: string[], sentHeader: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (!challenge) return undefined;
    this.challenge = { scheme: challenge.scheme, realm: challenge.realm, service: challenge.service };
    if (challenge.scheme === 'basic') {
      const header = this.basicHeader(await this.credentials());
      return header && header !== sentHeader ? header : undefined;
    }
    // The challenge may name more scopes than we asked for (a mount also needs pull on the source).
    const wanted = [...new Set([...scopes, ...(challenge.scope ? challenge.scope.split(' ') : [])])];
    const key = cacheKey(challenge, wanted);
    const cached = this.tokens.get(key);
    if (cached && (await cached.catch(() => undefined))?.header === sentHeader) this.tokens.delete(key);
    const header = (await this.token(this.challenge, wanted, signal)).header;
    return header !== sentHeader ? header : undefined;
  }

  private basicHeader(credentials: RegistryCredentials | undefined): string | undefined {
    if (!credentials?.username || credentials.password === undefined) return undefined;
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  private token(challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<CachedToken> {
    const key = cacheKey(challenge, scopes);
    const existing = this.tokens.get(key);
    if (existing) {
      return existing.then((token) => {
        if (token.expiresAt > Date.now()) return token;
        this.tokens.delete(key);
        return this.token(challenge, scopes, signal);
      });
    }
    // One fetch per scope set, even when several blobs ask at once; dropped on failure so a retry runs.
    const pending = this.fetchToken(challenge, scopes, signal);
    this.tokens.set(key, pending);
    pending.catch(() => this.tokens.delete(key));
    return pending;
  }

  private async fetchToken(challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<CachedToken> {
    const registry = this.options.registry;
    if (!challenge.realm) {
      throw new WharfError({ code: 'unauthorized', object: `registry ${registry}`, cause: 'asked for a bearer token without saying where to get one (no realm)', remedy: 'Check the registry\'s auth.token.realm setting' });
    }
    const credentials = await this.credentials();
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    let response: Response;
    try {
      if (credentials?.identityToken) {
        // OAuth2 refresh-token grant, as docker does with an identity token.
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'wharf', service: challenge.service ?? '' });
        if (scopes.length) form.set('scope', scopes.join(' '));
        response = await this.fetch(challenge.realm, { method: 'POST', body: form, signal });
      } else {
        const headers: Record<string, string> = {};
        const basic = this.basicHeader(credentials);
        if (basic) {
          headers.authorization = basic;
          url.searchParams.set('account', credentials?.username ?? '');
        }
        response = await this.fetch(url, { headers, signal });
      }
    } catch (error) {
      if (signal?.aborted) throw new WharfError({ code: 'cancelled', object: `registry ${registry}`, cause: 'cancelled by the user' });
      throw fromNetworkError((error as { cause?: unknown }).cause ?? error, `token service ${url.origin}`, `The registry ${registry} sends clients there for tokens: check that it answers`);
    }
    if (!response.ok) {
      const body = (await readCapped(response.body, 2048)).trim().slice(0, 200);
      const refused = response.status === 401 || response.status === 403;
      throw new WharfError({
        code: refused ? 'unauthorized' : 'unreachable',
        object: `registry ${registry}`,
        cause: `the token service ${url.origin} ${refused ? 'refused' : 'failed'} (${response.status}${body ? ` ${body}` : ''}) for ${scopes.join(' ') || 'no scope'}`,
        remedy: credentials ? `Check the user name and password/token for ${registry}` : `Sign in: docker login ${registry}, or set credentials for ${registry} in Wharf`,
      });
    }
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new WharfError({ code: 'unauthorized', object: `registry ${registry}`, cause: `the token service ${url.origin} answered without a token`, remedy: 'Check the registry\'s token service' });
    // The spec's default lifetime is 60 s; renew a little early.
    const lifetime = Math.max(10, body.expires_in ?? 60) * 1000;
    this.options.log?.trace(`registry ${registry}: token for ${scopes.join(' ')} (valid ${Math.round(lifetime / 1000)} s)`);
    return { header: `Bearer ${token}`, expiresAt: Date.now() + lifetime - 5000 };
  }
}

function cacheKey(challenge: Challenge, scopes: string[]): string {
  return `${challenge.realm}|${challenge.service}|${[...scopes].sort().join(' ')}`;
}
