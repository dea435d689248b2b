/**
 * UI check: the Images and Containers trees populated from the lab engines (local by socket,
 * remote over ssh://), in the real workbench. Leaves
 * <repo>/test-results/screenshots/wharf-docker-trees.png.
 */
import * as assert from 'assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { tinyTar } from '../engines/docker/fixtures';
import { ensureLab, type LabEndpoints } from '../lab/lab';
import { openWorkbench, type Workbench } from './workbench';

const run = promisify(execFile);
const suffix = `${process.pid}`;
const REPO = `aaa-wharf-ui/web-${suffix}`;
const CONTAINERS = [`wharf-ui-web-${suffix}`, `wharf-ui-db-${suffix}`, `wharf-ui-job-${suffix}`];

let wb: Workbench | undefined;
let lab: LabEndpoints;
let tmp: string;
const docker = (...args: string[]) => run('docker', ['-H', lab.docker.local.host, ...args]);

before(async () => {
  lab = (await ensureLab()).endpoints;
  tmp = await mkdtemp(path.join(os.tmpdir(), 'wharf-ui-docker-'));
  for (const tag of ['1.0', '1.1']) {
    await writeFile(path.join(tmp, `${tag}.tar`), tinyTar('version.txt', tag));
    await docker('import', path.join(tmp, `${tag}.tar`), `${REPO}:${tag}`);
  }
  const compose = (service: string) => ['--label', `com.docker.compose.project=shop-${suffix}`, '--label', `com.docker.compose.service=${service}`];
  await docker('run', '-d', '--name', CONTAINERS[0], '--network', 'none', ...compose('web'), lab.images.busybox, 'sleep', '600');
  await docker('create', '--name', CONTAINERS[1], '--network', 'none', ...compose('db'), lab.images.busybox, 'sleep', '600');
  await docker('create', '--name', CONTAINERS[2], '--network', 'none', lab.images.busybox, 'true');
  wb = await openWorkbench({
    userSettings: {
      'wharf.showDefaultEngine': false,
      'wharf.ssh.configFile': lab.ssh.configFile,
      'wharf.engines': [
        { name: 'lab', host: lab.docker.local.host },
        { name: 'lab-remote', host: `ssh://${lab.ssh.alias}` },
      ],
      // The explorer's third tree, so the screenshot shows all three populated.
      'wharf.registries': [
        { name: 'test', address: lab.registries.test.address, auth: 'anonymous' },
        { name: 'stage', address: lab.registries.stage.address, auth: 'anonymous' },
      ],
    },
  });
}, { timeout: 5 * 60_000 });

after(async () => {
  await wb?.close();
  for (const name of CONTAINERS) await docker('rm', '-f', name).catch(() => undefined);
  for (const tag of ['1.0', '1.1']) await docker('rmi', '-f', `${REPO}:${tag}`).catch(() => undefined);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('the Registries, Images and Containers trees show the lab populated', { timeout: 3 * 60_000 }, async () => {
  const w = wb!;
  try {
    await w.openViewContainer('Wharf');
    // Give the three explorer trees the side bar: collapse etcd Keys by its title.
    const etcdHeader = w.viewPane('etcd Keys').locator('.pane-header');
    if ((await etcdHeader.getAttribute('aria-expanded')) === 'true') await etcdHeader.locator('.title').first().click();
    const registries = w.viewPane('Registries');
    const images = w.viewPane('Images');
    const containers = w.viewPane('Containers');
    // The engine nodes, then a repository and a compose project under them.
    // (Trees are virtualised: check the remote engine where few rows precede it.)
    await containers.getByText('lab-remote', { exact: true }).first().waitFor({ timeout: 60_000 });
    const repo = images.getByText(REPO, { exact: true }).first();
    await repo.waitFor({ timeout: 60_000 });
    await repo.click();
    await images.getByText('1.1', { exact: true }).first().waitFor({ timeout: 30_000 });
    await containers.getByText(`shop-${suffix}`, { exact: true }).first().waitFor({ timeout: 60_000 });
    await containers.getByText(CONTAINERS[0], { exact: true }).first().waitFor({ timeout: 30_000 });
    // Both lab registries, and the repository the lab pushes to the test registry.
    await registries.getByText('stage', { exact: true }).first().waitFor({ timeout: 60_000 });
    await registries.getByText('test', { exact: true }).first().click();
    await registries.getByText('lab/busybox', { exact: true }).first().waitFor({ timeout: 60_000 });
    const text = `${await registries.innerText()}\n${await images.innerText()}\n${await containers.innerText()}`;
    for (const expected of ['test', 'lab/busybox', 'lab', 'lab-remote', REPO, '1.0', '1.1', CONTAINERS[0], CONTAINERS[1], CONTAINERS[2]]) {
      assert.ok(text.includes(expected), `"${expected}" is not shown; the views show:\n${text}`);
    }
  } finally {
    await w.page.mouse.move(900, 450); // no hover tooltip over the trees
    await w.page.waitForTimeout(500);
    console.log(`screenshot: ${await w.screenshot('wharf-docker-trees')}`);
  }
});
