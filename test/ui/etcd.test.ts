/**
 * UI check: the etcd Keys view populated from the lab's cluster, a folder expanded, and a key open
 * as an editor (JSON by content). Screenshot: <repo>/test-results/screenshots/wharf-etcd.png.
 */
import * as assert from 'assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../host/install';
import type { LabEndpoints } from '../lab/endpoints';
import { openWorkbench, type Workbench } from './workbench';

const run = promisify(execFile);
const PREFIX = `/wharf-ui-${Date.now().toString(36)}/`;
let wb: Workbench | undefined;
let lab: LabEndpoints;

const etcdctl = (...args: string[]) => run('etcdctl', ['--endpoints', lab.etcd.endpoints.join(','), ...args], { env: { ...process.env, ETCDCTL_API: '3' } });

before(async () => {
  const file = path.join(process.env.WHARF_LAB_ROOT ?? path.join(repoRoot(), '.wharf-lab'), 'endpoints.json');
  assert.ok(fs.existsSync(file), `the lab is not running (${file} is missing): start it with \`npm run lab:start\``);
  lab = JSON.parse(fs.readFileSync(file, 'utf8')) as LabEndpoints;
  await etcdctl('put', `${PREFIX}app/config.json`, JSON.stringify({ image: 'registry.stage/app:1.4.2', replicas: 3, upstreams: ['10.0.0.5:8080', '10.0.0.6:8080'] }, null, 2));
  await etcdctl('put', `${PREFIX}app/feature-flags`, 'checkout: on\nsearch: off\n');
  await etcdctl('put', `${PREFIX}app/owner`, 'team-delivery');
  for (const env of ['test', 'stage', 'prod']) await etcdctl('put', `${PREFIX}env/${env}/registry`, `registry.${env}.example.com`);
  wb = await openWorkbench({ userSettings: { 'wharf.etcd.clusters': [{ name: 'lab', endpoints: lab.etcd.endpoints }] } });
}, { timeout: 5 * 60_000 });

after(async () => {
  await wb?.close();
  if (lab) await etcdctl('del', '--prefix', PREFIX).catch(() => undefined);
});

test('the etcd Keys view lists the cluster and opens a key', { timeout: 3 * 60_000 }, async () => {
  const w = wb!;
  try {
    await w.openViewContainer('Wharf');
    const pane = w.viewPane('etcd Keys');
    // Give the etcd view the room: collapse the others.
    for (const title of ['Registries', 'Images', 'Containers']) {
      const header = w.page.locator('.part.sidebar .pane-header', { hasText: title }).first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    const etcdHeader = w.page.locator('.part.sidebar .pane-header', { hasText: 'etcd Keys' }).first();
    if ((await etcdHeader.getAttribute('aria-expanded')) !== 'true') await etcdHeader.click();
    const row = (label: string) => pane.locator('.monaco-list-row', { has: w.page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }) }).first();
    const expand = async (label: string) => {
      const target = row(label);
      await target.waitFor({ state: 'visible', timeout: 60_000 });
      if ((await target.getAttribute('aria-expanded')) !== 'true') await target.click();
    };
    await expand('lab');
    await expand('/');
    await expand(PREFIX.slice(1, -1));
    await expand('app');
    await row('config.json').click();
    // The key opens as an editor tab with its JSON.
    await w.page.locator('.tabs-container .tab', { hasText: 'config.json' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    await w.page.locator('.monaco-editor .view-lines', { hasText: 'registry.stage/app:1.4.2' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    const labels = await pane.locator('.monaco-list-row .label-name').allInnerTexts();
    for (const label of ['lab', 'app', 'config.json', 'feature-flags', 'owner', 'env']) assert.ok(labels.includes(label), `"${label}" missing from the tree: ${JSON.stringify(labels)}`);
  } finally {
    await w.waitForIdle();
    const file = await w.screenshot('wharf-etcd');
    console.log(`screenshot: ${file}`);
  }
});
