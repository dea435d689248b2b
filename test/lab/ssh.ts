// sshd on the remote host (inside the lab's namespace), with keys, known_hosts and an ssh_config
// of the lab's own, so `ssh -F <root>/ssh/config wharf-lab-remote docker ...` reaches the remote engine.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LabEndpoints } from './endpoints';
import { LabError } from './errors';
import { IN_NETNS, NS_ADDR } from './netns';
import { runOk, startDaemon, tcpAnswers, waitUntil, run } from './processes';

export const SSH_ALIAS = 'wharf-lab-remote';
export const SSH_PART = 'sshd';

export type SshEndpoint = LabEndpoints['ssh'];

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

async function keygen(file: string, comment: string): Promise<void> {
  if (await exists(file)) return; // keep keys across restarts: known_hosts entries elsewhere stay valid
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** Keys, known_hosts, client config and sshd config; returns the endpoint description. */
export async function prepareSsh(root: string, remoteSocket: string): Promise<{ endpoint: SshEndpoint; sshdConfig: string }> {
  const dir = path.join(root, 'ssh');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const identityFile = path.join(dir, 'id_ed25519');
  await keygen(hostKey, 'wharf-lab-host');
  await keygen(identityFile, 'wharf-lab-client');

  const authorizedKeys = path.join(dir, 'authorized_keys');
  await fs.writeFile(authorizedKeys, await fs.readFile(`${identityFile}.pub`), { mode: 0o600 });

  // Both forms: OpenSSH looks up port 22 as the bare address, other clients use [host]:port.
  const hostPub = (await fs.readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  await fs.writeFile(knownHosts, `${NS_ADDR} ${hostPub}\n[${NS_ADDR}]:22 ${hostPub}\n${SSH_ALIAS} ${hostPub}\n`, { mode: 0o600 });

  const configFile = path.join(dir, 'config');
  await fs.writeFile(
    configFile,
    [
      `Host ${SSH_ALIAS}`,
      `  HostName ${NS_ADDR}`,
      '  Port 22',
      '  User root',
      `  IdentityFile ${identityFile}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  ConnectTimeout 10',
      '',
    ].join('\n'),
    { mode: 0o600 }, // ssh refuses a config others can write
  );

  const sshdConfig = path.join(dir, 'sshd_config');
  // Our own config file: nothing from /etc/ssh (its host keys, includes, PAM) gets in the way.
  await fs.writeFile(
    sshdConfig,
    [
      `ListenAddress ${NS_ADDR}`,
      'Port 22',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'UseDNS no',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      `SetEnv DOCKER_HOST=unix://${remoteSocket}`,
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n'),
  );
  return {
    sshdConfig,
    endpoint: {
      alias: SSH_ALIAS,
      host: NS_ADDR,
      port: 22,
      user: 'root',
      identityFile,
      knownHosts,
      configFile,
      url: `ssh://root@${NS_ADDR}:22`,
    },
  };
}

export async function startSshd(root: string, sshdConfig: string): Promise<number> {
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const pid = await startDaemon(root, {
    part: SSH_PART,
    cmd: IN_NETNS[0],
    args: [...IN_NETNS.slice(1), '/usr/sbin/sshd', '-D', '-e', '-f', sshdConfig],
  });
  await waitUntil(() => tcpAnswers(NS_ADDR, 22), { root, part: SSH_PART, pid, timeoutMs: 20_000 });
  return pid;
}

/** Runs a command on the remote host through the lab's ssh_config. */
export async function sshRun(e: SshEndpoint, command: string[], input?: string | Buffer): Promise<string> {
  return runOk('ssh', ['-F', e.configFile, e.alias, '--', ...command], { input, timeoutMs: 300_000 });
}

/** The end-to-end check: over SSH, the remote docker CLI reaches the remote engine (via SetEnv). */
export async function verifySshDocker(root: string, e: SshEndpoint): Promise<string> {
  const r = await run('ssh', ['-F', e.configFile, e.alias, '--', 'docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 60_000 });
  if (r.code !== 0 || !r.stdout.trim()) {
    throw new LabError(SSH_PART, `ssh ${e.alias} docker version failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`, `read ${path.join(root, 'logs', 'sshd.log')}; try: ssh -v -F ${e.configFile} ${e.alias} docker version`);
  }
  return r.stdout.trim();
}
