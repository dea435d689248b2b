/**
 * UI check: the Registries tree populated from the lab's registries in the real workbench: the
 * test and stage registries, a repository, its tags and a tag's manifest details. Leaves
 * <repo>/test-results/screenshots/wharf-registries-tree.png.
 */
import * as assert from 'assert';
import { after, before, test } from 'node:test';
import { ensureLab, type LabEndpoints } from '../lab/lab';
import { pushOciImage } from '../support/ociImage';
import { openWorkbench, type Workbench } from './workbench';

const REPO = `aaa-wharf-ui/web`;
let wb: Workbench | undefined;
let lab: LabEndpoints;

async function push(registry: string, tag: string, layers: number): Promise<void> {
  const blobs = Array.from({ length: layers }, (_, i) => Buffer.from(`wharf ui ${tag} layer ${i} `.repeat(2000 * (i + 1))));
  await pushOciImage(registry, REPO, tag, blobs);
}

before(async () => {
  lab = (await ensureLab()).endpoints;
  // "aaa-" sorts the repository first in the catalog, so it is on the first page.
  for (const [tag, layers] of [['1.0', 2], ['1.1', 3], ['2.0-rc', 3]] as const) await push(lab.registries.test.address, tag, layers);
  wb = await openWorkbench({
    userSettings: {
      'wharf.showDefaultEngine': false,
      'wharf.registries': [
        { name: 'test', address: lab.registries.test.address, auth: 'anonymous' },
        { name: 'stage', address: lab.registries.stage.address, auth: 'anonymous' },
      ],
    },
  });
}, { timeout: 5 * 60_000 });

after(async () => {
  await wb?.close();
});

test('the Registries tree shows registries, repositories, tags and manifest details', { timeout: 3 * 60_000 }, async () => {
  const w = wb!;
  try {
    await w.openViewContainer('Wharf');
    // Collapse the other views so the Registries tree has the height of the side bar.
    // Click the title text, not the header's middle, where a view action (Add etcd Cluster…) may sit.
    for (const title of ['Images', 'Containers', 'etcd Keys']) {
      const header = w.viewPane(title).locator('.pane-header');
      for (let attempt = 0; attempt < 3 && (await header.getAttribute('aria-expanded')) === 'true'; attempt++) {
        await header.locator('.title').first().click();
        await w.page.waitForTimeout(300);
      }
      assert.equal(await header.getAttribute('aria-expanded'), 'false', `the ${title} view did not collapse`);
    }
    const pane = w.viewPane('Registries');
    const registry = pane.getByText('test', { exact: true }).first();
    await registry.waitFor({ timeout: 60_000 });
    await registry.click();
    const repo = pane.getByText(REPO, { exact: true }).first();
    await repo.waitFor({ timeout: 60_000 });
    await repo.click();
    const tag = pane.getByText('1.1', { exact: true }).first();
    await tag.waitFor({ timeout: 30_000 });
    await tag.click();
    await pane.getByText('layer 3', { exact: true }).first().waitFor({ timeout: 30_000 });
    const text = await pane.innerText();
    for (const expected of ['test', REPO, '1.0', '1.1', '2.0-rc', 'digest', 'media type', 'layer 1']) {
      assert.ok(text.includes(expected), `"${expected}" is not shown; the view shows:\n${text}`);
    }
  } finally {
    await w.page.mouse.move(900, 450);
    await w.page.waitForTimeout(500);
    console.log(`screenshot: ${await w.screenshot('wharf-registries-tree')}`);
  }
});
