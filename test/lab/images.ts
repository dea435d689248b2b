// Base images made here (no internet): busybox-static in a tiny rootfs, imported into the lab's
// engines and pushed to the test registry. Each step is skipped when its result is already there.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { dockerCli } from './docker';
import { LabError } from './errors';
import { httpGet, run, runOk } from './processes';

export const BUSYBOX_IMAGE = 'wharf-lab/busybox:latest';
export const REGISTRY_REPO = 'lab/busybox';
export const REGISTRY_TAG = '1';
const BUSYBOX_BIN = '/bin/busybox';

/** Builds (once) the rootfs tarball: busybox plus one symlink per applet, owned by root, fixed mtimes. */
export async function busyboxTar(root: string): Promise<string> {
  const dir = path.join(root, 'images');
  const tarFile = path.join(dir, 'busybox-rootfs.tar');
  if (await fs.stat(tarFile).then((s) => s.size > 0, () => false)) return tarFile;
  const tree = path.join(dir, 'busybox-rootfs');
  await fs.rm(tree, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'root', 'tmp', 'www']) await fs.mkdir(path.join(tree, d), { recursive: true });
  await fs.chmod(path.join(tree, 'tmp'), 0o1777);
  await fs.copyFile(BUSYBOX_BIN, path.join(tree, 'bin', 'busybox'));
  await fs.chmod(path.join(tree, 'bin', 'busybox'), 0o755);
  const applets = (await runOk(BUSYBOX_BIN, ['--list'])).split('\n').map((s) => s.trim());
  for (const a of applets) {
    if (a && a !== 'busybox' && /^[\w.[\]-]+$/.test(a)) await fs.symlink('busybox', path.join(tree, 'bin', a));
  }
  await fs.writeFile(path.join(tree, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await fs.writeFile(path.join(tree, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  await fs.writeFile(path.join(tree, 'www', 'index.html'), 'wharf lab busybox\n');
  const tmp = `${tarFile}.tmp`;
  await runOk('tar', ['-C', tree, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', tmp, '.']);
  await fs.rename(tmp, tarFile);
  await fs.rm(tree, { recursive: true, force: true });
  return tarFile;
}

export async function hasImage(host: string, name: string): Promise<boolean> {
  return dockerCli(host, ['image', 'inspect', '--format', '{{.Id}}', name]).then(() => true, () => false);
}

export async function importBusybox(part: string, host: string, tarFile: string): Promise<void> {
  if (await hasImage(host, BUSYBOX_IMAGE)) return;
  try {
    await dockerCli(host, [
      'import',
      '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change', 'CMD ["sh"]',
      '--message', 'wharf lab busybox',
      tarFile,
      BUSYBOX_IMAGE,
    ]);
  } catch (e) {
    throw new LabError(part, `docker import failed: ${(e as Error).message}`, `check the engine log and free disk`);
  }
}

async function registryHasTag(registryUrl: string): Promise<boolean> {
  try {
    const r = await httpGet({ url: `${registryUrl}/v2/${REGISTRY_REPO}/tags/list` });
    return r.status === 200 && ((JSON.parse(r.body) as { tags?: string[] }).tags ?? []).includes(REGISTRY_TAG);
  } catch {
    return false;
  }
}

/** Pushes through the local engine (127.0.0.0/8 is an insecure registry by default). */
export async function pushBusybox(localHost: string, registryAddress: string): Promise<string> {
  const ref = `${registryAddress}/${REGISTRY_REPO}:${REGISTRY_TAG}`;
  if (await registryHasTag(`http://${registryAddress}`)) return ref;
  try {
    await dockerCli(localHost, ['tag', BUSYBOX_IMAGE, ref]);
    await dockerCli(localHost, ['push', ref]);
  } catch (e) {
    throw new LabError('registry-test', `push of ${ref} failed: ${(e as Error).message}`, 'read logs/registry-test.log');
  }
  return ref;
}

/**
 * Without a local engine of ours (the user's own engine is never touched), copy from the remote
 * engine's image archive with skopeo instead.
 */
export async function pushBusyboxWithSkopeo(root: string, remoteHost: string, registryAddress: string): Promise<string> {
  const ref = `${registryAddress}/${REGISTRY_REPO}:${REGISTRY_TAG}`;
  if (await registryHasTag(`http://${registryAddress}`)) return ref;
  const archive = path.join(root, 'images', 'busybox-image.tar');
  try {
    await dockerCli(remoteHost, ['save', '-o', archive, BUSYBOX_IMAGE]);
    const r = await run('skopeo', ['copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${ref}`], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(r.stderr.trim());
  } catch (e) {
    throw new LabError('registry-test', `skopeo copy to ${ref} failed: ${(e as Error).message}`, 'read logs/registry-test.log');
  } finally {
    await fs.rm(archive, { force: true });
  }
  return ref;
}
