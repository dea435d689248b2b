/**
 * Real parts for the registry and promote tests: the lab's registries and engine, plus registries
 * a test starts itself (Debian's docker-registry with htpasswd, or with token auth and a small token
 * issuer here that signs JWTs with a key whose certificate the registry trusts).
 */
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { spawn, type ChildProcess } from 'node:child_process';
import { RegistryClient, sha256 } from '../../../src/engines/registry/client';
import { MediaTypes } from '../../../src/engines/registry/manifest';
import { dockerCli, ensureLab, type LabEndpoints } from '../../lab/lab';
import { run } from '../../lab/processes';

let labPromise: Promise<LabEndpoints> | undefined;

export function lab(): Promise<LabEndpoints> {
  labPromise ??= ensureLab().then((result) => {
    if (result.endpoints.docker.local.external) throw new Error('the lab points at a user engine; registry tests only run against the lab\'s own engine');
    return result.endpoints;
  });
  return labPromise;
}

/** A suffix that keeps repositories of different runs apart. */
export function unique(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface OwnRegistry {
  address: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts a docker-registry of our own under a temp dir with extra config (auth). */
export async function startOwnRegistry(extra: Record<string, unknown> = {}): Promise<OwnRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const config = {
    version: 0.1,
    log: { level: 'warn' },
    http: { addr: address, secret: randomBytes(8).toString('hex') },
    ...extra,
    // Storage settings merge (a test may add `maintenance`), the data folder stays ours.
    storage: { filesystem: { rootdirectory: path.join(dir, 'data') }, delete: { enabled: true }, ...(extra.storage as object | undefined) },
  };
  await writeFile(path.join(dir, 'config.yml'), JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; ; i++) {
    const up = await fetch(`http://${address}/v2/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 100 || child.exitCode !== null) {
      child.kill();
      throw new Error(`docker-registry on ${address} did not start: ${stderr.slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    address,
    dir,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An htpasswd line with bcrypt, from Debian's apache2-utils (installed here when missing). */
export async function htpasswdLine(user: string, password: string): Promise<string> {
  let result = await run('htpasswd', ['-Bbn', user, password]).catch(() => undefined);
  if (!result || result.code !== 0) {
    const install = await run('apt-get', ['install', '-y', '-q', 'apache2-utils'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000 });
    if (install.code !== 0) throw new Error(`htpasswd is missing and apt-get install apache2-utils failed: ${install.stderr.slice(-300)}`);
    result = await run('htpasswd', ['-Bbn', user, password]);
  }
  if (result.code !== 0) throw new Error(`htpasswd failed: ${result.stderr}`);
  return result.stdout.trim();
}

export async function startBasicAuthRegistry(user: string, password: string): Promise<OwnRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-htpasswd-'));
  const file = path.join(dir, 'htpasswd');
  await writeFile(file, `${await htpasswdLine(user, password)}\n`);
  const registry = await startOwnRegistry({ auth: { htpasswd: { realm: 'wharf-test', path: file } } });
  return {
    ...registry,
    async stop() {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TokenIssuer {
  realm: string;
  service: string;
  /** Token requests seen, with the scopes asked and the account. */
  requests: { account?: string; scopes: string[]; authorized: boolean }[];
  registry: OwnRegistry;
  stop(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * A token service: accepts `user:password` (Basic) and grants what is asked; refuses anything
 * else with 401. `readOnlyUser` only gets pull. JWTs carry the signing certificate in x5c.
 */
export async function startTokenAuthRegistry(users: Record<string, string>, readOnlyUser?: string): Promise<TokenIssuer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-token-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=wharf-test-token-issuer']);
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const key = await readFile(keyFile, 'utf8');
  const certDer = Buffer.from((await readFile(certFile, 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const service = 'wharf-test-registry';
  const issuer = 'wharf-test-issuer';
  const requests: TokenIssuer['requests'] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).filter(Boolean);
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : '';
    const colon = decoded.indexOf(':');
    const account = colon > 0 ? decoded.slice(0, colon) : undefined;
    const ok = account !== undefined && users[account] === decoded.slice(colon + 1);
    requests.push({ account, scopes, authorized: ok });
    if (!ok || url.searchParams.get('service') !== service) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const access = scopes.map((scope) => {
      const parts = scope.split(':');
      const actions = parts.pop()?.split(',') ?? [];
      const [type, ...name] = parts;
      return { type, name: name.join(':'), actions: account === readOnlyUser ? actions.filter((action) => action === 'pull') : actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const head = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = base64url(JSON.stringify({ iss: issuer, sub: account, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const signer = createSign('RSA-SHA256');
    signer.update(`${head}.${claims}`);
    const token = `${head}.${claims}.${base64url(signer.sign(key))}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`;
  const registry = await startOwnRegistry({ auth: { token: { realm, service, issuer, rootcertbundle: certFile } } });
  return {
    realm,
    service,
    requests,
    registry,
    async stop() {
      await registry.stop();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SyntheticImage {
  digest: string;
  manifest: Buffer;
  layers: Buffer[];
  config: Buffer;
}

/** Pushes a small OCI image through the API: random layers, a config, a manifest under `tag`. */
export async function pushSyntheticImage(client: RegistryClient, repository: string, tag: string, options: { layers?: number; layerSize?: number; platform?: { os: string; architecture: string }; layerBlobs?: Buffer[] } = {}): Promise<SyntheticImage> {
  const layers = options.layerBlobs ?? Array.from({ length: options.layers ?? 2 }, () => randomBytes(options.layerSize ?? 4096));
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: layers.map((layer) => sha256(layer)) }, config: {} }));
  for (const blob of [...layers, config]) await client.uploadBlob(repository, sha256(blob), Readable.from([blob]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length })),
    }),
  );
  const digest = await client.putManifest(repository, tag, manifest, MediaTypes.ociManifest);
  return { digest, manifest, layers, config };
}

/** A two-platform OCI index (linux/amd64 + linux/arm64) whose manifests are pushed through the API. */
export async function pushTwoPlatformIndex(client: RegistryClient, repository: string, tag: string): Promise<{ digest: string; children: Record<string, string> }> {
  const amd64 = await pushSyntheticImage(client, repository, `${tag}-amd64`, { platform: { os: 'linux', architecture: 'amd64' } });
  const arm64 = await pushSyntheticImage(client, repository, `${tag}-arm64`, { platform: { os: 'linux', architecture: 'arm64' } });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        { mediaType: MediaTypes.ociManifest, digest: amd64.digest, size: amd64.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaTypes.ociManifest, digest: arm64.digest, size: arm64.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    }),
  );
  const digest = await client.putManifest(repository, tag, index, MediaTypes.ociIndex);
  return { digest, children: { 'linux/amd64': amd64.digest, 'linux/arm64': arm64.digest } };
}

/**
 * Builds a multi-layer image on the lab's local engine (FROM the lab's busybox, one RUN per layer
 * writing `layerKb` of random bytes) and pushes it to `ref`. Returns the local name.
 */
export async function buildAndPush(e: LabEndpoints, ref: string, options: { layers?: number; layerKb?: number; seedFiles?: string[] } = {}): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-build-'));
  try {
    const layers = options.layers ?? 3;
    const lines = [`FROM ${e.images.busybox}`];
    for (let i = 0; i < layers; i++) lines.push(`RUN dd if=/dev/urandom of=/layer${i} bs=1024 count=${options.layerKb ?? 64} 2>/dev/null && echo ${unique()} > /id${i}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
    await dockerCli(e.docker.local.host, ['build', '-q', '-t', ref, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    await dockerCli(e.docker.local.host, ['push', ref]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function removeLocal(e: LabEndpoints, ...refs: string[]): Promise<void> {
  for (const ref of refs) await dockerCli(e.docker.local.host, ['rmi', '-f', ref]).catch(() => undefined);
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface TcpProxy {
  address: string;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of `target` ("host:port"). `onUpload` sees the bytes clients send;
 * `onAnswer` sees the bytes coming back and may return false to drop that connection, as a
 * dropped link would.
 */
export async function tcpProxy(target: string, hooks: { onUpload?: (bytes: number) => void; onAnswer?: (connectionBytes: number) => boolean } = {}): Promise<TcpProxy> {
  const [host, port] = target.split(':');
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    let answered = 0;
    client.on('data', (chunk: Buffer) => hooks.onUpload?.(chunk.length));
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      answered += chunk.length;
      if (hooks.onAnswer?.(answered) === false) return end();
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Drops the first connection whose answer passes `cutAfter` bytes: manifests and small blobs pass. */
export async function droppingProxy(target: string, cutAfter: number): Promise<TcpProxy & { cuts(): number }> {
  let cuts = 0;
  const proxy = await tcpProxy(target, {
    onAnswer: (bytes) => {
      if (cuts > 0 || bytes <= cutAfter) return true;
      cuts++;
      return false;
    },
  });
  return { ...proxy, cuts: () => cuts };
}
