/**
 * A throwaway "remote host" for failures the shared lab cannot show without being changed: a
 * second sshd in the lab's netns (its own port; an authorized_keys file any user can read, since
 * sshd reads it as the user) whose sessions reach a throwaway engine with its data root on a small
 * tmpfs. Root finds a disk that fills up; a non-root user outside the docker group gets "permission
 * denied" on the engine socket. stop() ends exactly what start made (by pid) and removes it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabEndpoints } from '../../lab/lab';
import { NETNS } from '../../lab/netns';
import { httpOk, isAlive, run, runOk, tcpAnswers } from '../../lab/processes';

export const NO_DOCKER_USER = 'wharf-lab-nodocker';
const IN_NETNS = ['nsenter', `--net=/run/netns/${NETNS}`, '--'];

export interface ThrowawayHost {
  /** An ssh config with `tw-root` (root) and `tw-user` (NO_DOCKER_USER) on the throwaway sshd. */
  configFile: string;
  /** DOCKER_HOST of the throwaway engine, for the test's own checks. */
  engine: string;
  stop(): Promise<void>;
}

function startDetached(argv: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (!child.pid) throw new Error(`cannot run ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until CHECK holds; fails early, with the log's end, when the daemon PID exited. */
async function poll(check: () => Promise<boolean>, pid: number, logFile: string, timeoutMs: number): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(200)) {
    if (await check().catch(() => false)) return;
    if (!(await isAlive(pid))) break;
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  throw new Error(`${path.basename(logFile, '.log')} did not come up: ${log.trim().split('\n').slice(-5).join(' | ')}`);
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let waited = 0; waited < 20_000 && (await isAlive(pid)); waited += 200) await sleep(200);
  if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
}

export async function startThrowawayHost(lab: LabEndpoints, tmpfsMb: number): Promise<ThrowawayHost> {
  // Short path: dockerd's containerd socket under the exec root must stay under 108 bytes.
  const dir = await mkdtemp('/tmp/wharf-tw-');
  await chmod(dir, 0o755); // the non-root user must reach the socket to be refused by its mode
  const data = path.join(dir, 'data');
  await mkdir(data);
  const pids: number[] = [];
  let mounted = false;
  let userMade = false;
  const stop = async () => {
    for (const pid of pids.reverse()) await stopPid(pid);
    if (mounted) await run('umount', [data]).then((r) => (r.code === 0 ? r : run('umount', ['-l', data])));
    if (userMade) await run('userdel', [NO_DOCKER_USER]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await runOk('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsMb}m,mode=0711`, 'tmpfs', data]);
    mounted = true;
    const socket = path.join(dir, 'docker.sock');
    await writeFile(path.join(dir, 'daemon.json'), '{}\n');
    const dockerd = startDetached(
      [
        ...IN_NETNS,
        'dockerd',
        '--config-file', path.join(dir, 'daemon.json'),
        '--storage-driver=vfs',
        '--host', `unix://${socket}`,
        '--data-root', data,
        '--exec-root', path.join(dir, 'exec'),
        '--pidfile', path.join(dir, 'docker.pid'),
        '--containerd-namespace', 'wharf-tw',
        '--containerd-plugins-namespace', 'wharf-tw-plugins',
        '--bridge=none',
        '--iptables=false',
        '--shutdown-timeout', '5',
      ],
      path.join(dir, 'dockerd.log'),
    );
    pids.push(dockerd);
    await poll(() => httpOk({ socketPath: socket, path: '/_ping' }), dockerd, path.join(dir, 'dockerd.log'), 60_000);

    if ((await run('id', ['-u', NO_DOCKER_USER])).code !== 0) {
      // Password '*' (no password, not locked): without PAM, sshd refuses a locked ('!') account even for a key.
      await runOk('useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/bin/sh', '--password', '*', NO_DOCKER_USER]);
      userMade = true;
    }

    const sshDir = path.dirname(lab.ssh.identityFile);
    const hostKey = path.join(sshDir, 'ssh_host_ed25519_key');
    await copyFile(`${lab.ssh.identityFile}.pub`, path.join(dir, 'authorized_keys'));
    await chmod(path.join(dir, 'authorized_keys'), 0o644);
    const port = 20000 + Math.floor(Math.random() * 20000);
    await writeFile(
      path.join(dir, 'sshd_config'),
      [
        `ListenAddress ${lab.ssh.host}`,
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'UseDNS no',
        `SetEnv DOCKER_HOST=unix://${socket}`,
        '',
      ].join('\n'),
    );
    const sshd = startDetached([...IN_NETNS, '/usr/sbin/sshd', '-D', '-e', '-f', path.join(dir, 'sshd_config')], path.join(dir, 'sshd.log'));
    pids.push(sshd);
    await poll(() => tcpAnswers(lab.ssh.host, port), sshd, path.join(dir, 'sshd.log'), 20_000);

    const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    await writeFile(path.join(dir, 'known_hosts'), `[${lab.ssh.host}]:${port} ${hostPub}\n`);
    const configFile = path.join(dir, 'config');
    await writeFile(
      configFile,
      [
        'Host tw-root',
        '  User root',
        'Host tw-user',
        `  User ${NO_DOCKER_USER}`,
        'Host tw-*',
        `  HostName ${lab.ssh.host}`,
        `  Port ${port}`,
        `  IdentityFile ${lab.ssh.identityFile}`,
        `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return { configFile, engine: `unix://${socket}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
