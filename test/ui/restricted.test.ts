/**
 * UI check in Restricted Mode: workspace trust on and the folder not trusted.
 * Wharf declares limited untrusted-workspace support, so its side bar must still
 * appear (an extension without that declaration is disabled entirely).
 * Screenshot: <repo>/test-results/screenshots/wharf-restricted.png.
 */
import * as assert from 'assert';
import { after, before, test } from 'node:test';
import { openWorkbench, type Workbench } from './workbench';

let wb: Workbench | undefined;

before(async () => {
  wb = await openWorkbench({ restricted: true });
}, { timeout: 5 * 60_000 });

after(async () => {
  await wb?.close();
});

test('Wharf browses in Restricted Mode', { timeout: 3 * 60_000 }, async () => {
  const w = wb!;
  try {
    // The status bar / title show the Restricted Mode indicator when the folder is untrusted.
    await w.page.getByText('Restricted Mode', { exact: false }).first().waitFor({ state: 'attached', timeout: 60_000 });
    await w.openViewContainer('Wharf');
    await w.page.locator('.part.sidebar .pane-header .title', { hasText: 'Registries' }).first().waitFor({ state: 'attached', timeout: 60_000 });
    const titles = await w.viewPaneTitles();
    assert.ok(titles.includes('Registries'), `side bar shows: ${JSON.stringify(titles)}`);
  } finally {
    await w.waitForIdle();
    await w.screenshot('wharf-restricted');
  }
});
