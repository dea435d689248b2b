// Debian packages the lab needs. Missing ones are installed with apt-get when we are root.
import { LabError } from './errors';
import { run, runOk } from './processes';

export const LAB_PACKAGES = [
  'docker.io',
  'docker-registry',
  'etcd-server',
  'etcd-client',
  'openssh-server',
  'openssh-client',
  'nginx-light',
  'busybox-static',
  'iptables',
  'iproute2',
  'skopeo',
  'tar',
];

async function installed(pkg: string): Promise<boolean> {
  const r = await run('dpkg-query', ['-W', '-f=${Status}', pkg]);
  return r.code === 0 && r.stdout.includes('install ok installed');
}

export async function missingPackages(pkgs = LAB_PACKAGES): Promise<string[]> {
  const missing: string[] = [];
  for (const p of pkgs) if (!(await installed(p))) missing.push(p);
  return missing;
}

export async function ensurePackages(log: (l: string) => void, pkgs = LAB_PACKAGES): Promise<void> {
  const missing = await missingPackages(pkgs);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new LabError('packages', `missing ${missing.join(', ')}`, `run as root, or: sudo apt-get install -y ${missing.join(' ')}`);
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8' };
  try {
    await runOk('apt-get', ['update'], { env, timeoutMs: 600_000 });
    await runOk('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 1_200_000 });
  } catch (e) {
    throw new LabError('packages', `apt-get failed: ${(e as Error).message}`, `install by hand: apt-get install -y ${missing.join(' ')}`);
  }
}
