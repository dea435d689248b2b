/**
 * Runs a command on an SSH host. The remote side always hands the command to a shell, so every
 * argument is quoted here; callers pass argv, never a command string.
 */
import type { Client, ClientChannel } from 'ssh2';
import { WharfError } from '../core/errors';

export function shellQuote(argument: string): string {
  if (/^[A-Za-z0-9_\/.:=@%+,-]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: string[]): string {
  if (argv.length === 0) throw new WharfError({ code: 'bad-input', object: 'remote command', cause: 'empty command' });
  return argv.map(shellQuote).join(' ');
}

export function openExec(client: Client, argv: string[]): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(commandLine(argv), (error, channel) => (error ? reject(error) : resolve(channel)));
  });
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command and collects its output (capped: this is not for streams). */
export async function execCapture(client: Client, argv: string[], limitBytes = 1 << 20): Promise<ExecResult> {
  const channel = await openExec(client, argv);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const keep = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) into.push(chunk);
    };
    channel.on('data', keep(out));
    channel.stderr.on('data', keep(err));
    channel.on('close', (code: number | null) => {
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
