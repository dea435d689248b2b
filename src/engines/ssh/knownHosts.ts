/**
 * Host-key checking against OpenSSH known_hosts files, including hashed entries (|1|salt|hash).
 * ssh2 accepts every key unless told otherwise; this is what tells it.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { matchesPatternList } from '../core/glob';

export type HostKeyVerdict =
  | { kind: 'trusted' }
  | { kind: 'unknown'; fingerprint: string }
  | { kind: 'changed'; fingerprint: string; file: string; line: number };

/** The name known_hosts uses: "host" for port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export async function checkHostKey(files: string[], host: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
  const name = knownHostsName(host, port);
  const keyType = keyTypeOf(key);
  let mismatch: { file: string; line: number } | undefined;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split(/\r?\n/);
    for (let index = 0; index < lines.length; index++) {
      const fields = lines[index].trim().split(/\s+/);
      if (!fields[0] || fields[0].startsWith('#')) continue;
      const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
      const [hosts, type, base64] = fields;
      if (!hosts || !type || !base64 || !namesMatch(hosts, name)) continue;
      if (marker === '@revoked' && Buffer.from(base64, 'base64').equals(key)) {
        return { kind: 'changed', fingerprint: fingerprintOf(key), file, line: index + 1 };
      }
      if (marker) continue; // @cert-authority entries are not supported; they never grant trust here.
      if (Buffer.from(base64, 'base64').equals(key)) return { kind: 'trusted' };
      if (type === keyType) mismatch ??= { file, line: index + 1 };
    }
  }
  if (mismatch) return { kind: 'changed', fingerprint: fingerprintOf(key), ...mismatch };
  return { kind: 'unknown', fingerprint: fingerprintOf(key) };
}

/** Records a key the user accepted, hashed like `HashKnownHosts yes`. */
export async function addHostKey(file: string, host: string, port: number, key: Buffer): Promise<void> {
  const name = knownHostsName(host, port);
  const salt = createHash('sha1').update(`${Date.now()}${Math.random()}${name}`).digest();
  const hash = createHmac('sha1', salt).update(name).digest();
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `|1|${salt.toString('base64')}|${hash.toString('base64')} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
}

function namesMatch(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return matchesPatternList(field.split(','), name);
}

/** The key type is the first length-prefixed string of the SSH wire-format public key. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('ascii');
}
