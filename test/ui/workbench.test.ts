/**
 * UI check in the real workbench: the Wharf activity-bar entry opens a side bar
 * with the four views. Run with `node --test out/test/ui/` after building
 * (`node esbuild.mjs`, `npx tsc -p tsconfig.test.json`). Leaves a screenshot in
 * <repo>/test-results/screenshots/wharf-views.png.
 */
import * as assert from 'assert';
import { after, before, test } from 'node:test';
import { openWorkbench, type Workbench } from './workbench';

const VIEW_TITLES = ['Registries', 'Images', 'Containers', 'etcd Keys'];

let wb: Workbench | undefined;

before(async () => {
  wb = await openWorkbench();
}, { timeout: 5 * 60_000 });

after(async () => {
  await wb?.close();
});

test('the Wharf activity-bar entry shows the four views', { timeout: 3 * 60_000 }, async () => {
  const w = wb!;
  try {
    await w.openViewContainer('Wharf');
    for (const title of VIEW_TITLES) {
      await w.page.locator('.part.sidebar .pane-header .title', { hasText: title }).first().waitFor({ state: 'attached', timeout: 60_000 });
    }
    const titles = await w.viewPaneTitles();
    for (const title of VIEW_TITLES) assert.ok(titles.includes(title), `view "${title}" missing; side bar shows: ${JSON.stringify(titles)}`);
  } finally {
    await w.waitForIdle();
    const file = await w.screenshot('wharf-views');
    console.log(`screenshot: ${file}`);
  }
});
