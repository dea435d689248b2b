/**
 * One ssh2 handshake with one host, over TCP or over a stream a jump host forwarded (`sock`). The
 * host key is checked against that host's known_hosts: an unknown key is put to the caller (the
 * editor asks the user; the CLI refuses unless told to accept); a changed key is always refused.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Client, utils, type ConnectConfig } from 'ssh2';
import { WharfError, messageOf } from '../core/errors';
import type { SshTarget } from './config';
import { addHostKey, checkHostKey, knownHostsName } from './knownHosts';

export interface SshConnectOptions {
  /** Asked when the host is not in known_hosts; true records the key and goes on. */
  acceptUnknownKey?: (host: string, fingerprint: string) => Promise<boolean>;
  /** Asked for a key passphrase or a password when needed. */
  askSecret?: (prompt: string) => Promise<string | undefined>;
  agentSocket?: string;
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

/** OBJECT names the host in messages ("SSH host x", "SSH jump host b (ProxyJump of x)"). */
export async function handshake(target: SshTarget, options: SshConnectOptions, object: string, sock?: Readable): Promise<Client> {
  const privateKey = await firstReadable(target.identityFiles);
  // An encrypted key needs its passphrase: ask for it (the editor shows a password box).
  let passphrase: string | undefined;
  if (privateKey && utils.parseKey(privateKey) instanceof Error && options.askSecret) {
    passphrase = await options.askSecret(`Passphrase for the SSH key of ${target.name}`);
  }
  let hostKeyProblem: WharfError | undefined;
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    sock,
    username: target.user,
    readyTimeout: options.readyTimeoutMs ?? 15000,
    agent: options.agentSocket ?? process.env.SSH_AUTH_SOCK,
    privateKey,
    passphrase,
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      checkHostKey(target.knownHostsFiles, target.host, target.port, key)
        .then(async (verdict) => {
          if (verdict.kind === 'trusted') return verify(true);
          if (verdict.kind === 'changed') {
            hostKeyProblem = new WharfError({
              code: 'host-key',
              object,
              cause: `the host key changed (now ${verdict.fingerprint}; ${verdict.file}:${verdict.line} has another). This may be an attack`,
              remedy: `If the host was really reinstalled, remove the old key with: ssh-keygen -R "${knownHostsName(target.host, target.port)}"`,
            });
            return verify(false);
          }
          const accepted = (await options.acceptUnknownKey?.(knownHostsName(target.host, target.port), verdict.fingerprint)) ?? false;
          if (!accepted) {
            hostKeyProblem = new WharfError({
              code: 'host-key',
              object,
              cause: `the host key ${verdict.fingerprint} is not in known_hosts`,
              remedy: 'Check the fingerprint and accept it, or connect once with ssh to record it',
            });
            return verify(false);
          }
          await addHostKey(target.knownHostsFiles[0], target.host, target.port, key);
          verify(true);
        })
        .catch(() => verify(false));
    },
  };
  const client = new Client();
  return new Promise<Client>((resolve, reject) => {
    const onAbort = () => {
      client.end();
      reject(new WharfError({ code: 'cancelled', object, cause: 'cancelled while connecting' }));
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve(client);
    });
    client.once('error', (error: Error & { level?: string }) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(hostKeyProblem ?? classify(error, object, target));
    });
    client.connect(config);
  });
}

function classify(error: Error & { level?: string; code?: string }, object: string, target: SshTarget): WharfError {
  if (error.level === 'client-authentication') {
    return new WharfError({
      code: 'unauthorized',
      object,
      cause: `${target.user} was refused (no key or password accepted)`,
      remedy: 'Add your key to ssh-agent or set IdentityFile in ~/.ssh/config',
      inner: error,
    });
  }
  if (error.level === 'client-timeout' || error.code === 'ETIMEDOUT') {
    return new WharfError({ code: 'unreachable', object, cause: 'timed out while connecting', remedy: 'Check the address and that sshd runs', inner: error });
  }
  return new WharfError({ code: 'unreachable', object, cause: messageOf(error), remedy: 'Check the address, port and that sshd runs', inner: error });
}

async function firstReadable(files: string[]): Promise<Buffer | undefined> {
  for (const file of files) {
    try {
      return await readFile(file);
    } catch {
      // try the next one, as ssh does
    }
  }
  return undefined;
}
