// Layer cache on the lab's local engine: real classic builds, real cache, real layers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { connectEngine } from '../../../src/engines/docker/client';
import { parseHost } from '../../../src/engines/docker/endpoint';
import { analyzeDockerfile, analyzeImage } from '../../../src/engines/layers/analyze';
import { buildDockerfile } from '../../../src/engines/layers/build';
import { BuildContext } from '../../../src/engines/layers/context';
import { loadDockerfile } from '../../../src/engines/layers/build';
import { predictBuild } from '../../../src/engines/layers/predict';
import { BuildRecordStore, type BuildRecord } from '../../../src/engines/layers/records';
import { ensureLab } from '../../lab/lab';

const REPO = `wharf-layers-test-${randomBytes(3).toString('hex')}`;
const BASE = `${REPO}/base:1`;

describe('layer cache on the lab engine', () => {
  let docker: Docker;
  let busybox: string;
  let dir: string;
  let store: BuildRecordStore;
  const made = new Set<string>();
  const tags = new Set<string>();

  const dockerfile = (run = 'cat config.txt > /app/copied') =>
    [
      `FROM ${BASE}`,
      `ENV RUN_ID=${REPO}`,
      'WORKDIR /app',
      'COPY config.txt ./',
      `RUN ${run}`,
      'COPY src/ ./src/',
      'RUN ls -R /app > /app/listing \\',
      '    && echo done',
      'COPY . /all/',
      'CMD ["sh"]',
      '',
    ].join('\n');

  async function build(tag = `${REPO}/app:1`): Promise<BuildRecord> {
    const { record } = await buildDockerfile(docker, { dockerfile: path.join(dir, 'Dockerfile'), tag, store, engine: 'lab' });
    tags.add(tag);
    for (const step of record.steps) if (step.imageId && step.keyword !== 'FROM') made.add(step.imageId);
    assert.equal(record.status, 'succeeded', record.error?.message);
    return record;
  }

  async function predict() {
    const file = path.join(dir, 'Dockerfile');
    return predictBuild(docker, await loadDockerfile(file), await BuildContext.open(dir, { dockerfile: file }), { previous: await store.read(file) });
  }

  const outcomes = (record: BuildRecord) => record.steps.map((step) => step.cache);

  before(async () => {
    const { endpoints } = await ensureLab();
    assert.equal(endpoints.docker.local.external, false, 'the lab engine must be the lab own engine');
    docker = await connectEngine(parseHost(endpoints.docker.local.host));
    busybox = endpoints.images.busybox;
    await docker.getImage(busybox).tag({ repo: `${REPO}/base`, tag: '1' });
    tags.add(BASE);
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-layers-'));
    store = new BuildRecordStore(path.join(dir, '.records'));
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile());
    await writeFile(path.join(dir, 'config.txt'), 'mode=test\n');
    await writeFile(path.join(dir, 'src', 'main.txt'), 'main v1\n');
    await writeFile(path.join(dir, 'src', 'util.txt'), 'util v1\n');
    await writeFile(path.join(dir, 'notes.log'), 'log v1\n');
    await writeFile(path.join(dir, '.dockerignore'), '*.log\n.records\n');
  });

  after(async () => {
    if (!docker) return;
    for (const tag of tags) await docker.getImage(tag).remove({ noprune: false }).catch(() => undefined);
    // Children before parents: newest first.
    for (let pass = 0; pass < 2; pass++) for (const id of [...made].reverse()) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds twice: the second build takes every step from the cache, as predicted', async () => {
    const first = await build();
    assert.equal(first.steps[0].cache, 'base');
    assert.deepEqual(outcomes(first).slice(1), Array(8).fill('miss'));
    assert.equal(first.firstMiss?.step, 2);
    const predicted = await predict();
    assert.deepEqual(predicted.steps.map((step) => step.outcome), outcomes(first).map((outcome) => (outcome === 'base' ? 'base' : 'hit')));
    const second = await build();
    assert.deepEqual(outcomes(second).slice(1), Array(8).fill('hit'));
    assert.equal(second.firstMiss, undefined);
    assert.equal(second.imageId, first.imageId);
  });

  it('after a copied file changes, exactly the steps from that COPY on miss and the cause names the file', async () => {
    await writeFile(path.join(dir, 'src', 'main.txt'), 'main v2\n');
    const predicted = await predict();
    assert.equal(predicted.firstMiss?.step, 6);
    assert.equal(predicted.firstMiss?.cause?.kind, 'source-changed');
    const record = await build();
    const copyIndex = record.steps.findIndex((step) => step.text === 'COPY src/ ./src/');
    assert.deepEqual(
      outcomes(record),
      record.steps.map((_step, index) => (index === 0 ? 'base' : index < copyIndex ? 'hit' : 'miss')),
    );
    assert.equal(record.firstMiss?.step, copyIndex + 1);
    const cause = record.firstMiss?.cause;
    assert.equal(cause?.kind, 'source-changed');
    assert.deepEqual(cause?.kind === 'source-changed' && cause.files, ['src/main.txt']);
    assert.match(cause?.message ?? '', /src\/main\.txt/);

    const report = await analyzeDockerfile(docker, path.join(dir, 'Dockerfile'), { engine: 'lab', store, waste: false });
    assert.equal(report.rows.filter((row) => row.kind === 'base').length, 1, 'busybox is one base layer');
    assert.deepEqual(
      report.rows.filter((row) => row.kind === 'step').map((row) => row.cache),
      outcomes(record).slice(1),
    );
    assert.equal(report.firstMiss?.line, 5);
    assert.ok(report.prediction && report.prediction.misses === 0, 'nothing changed since: all hits predicted');
  });

  it('predicts the next build over a set of edits', async () => {
    const edits: [string, () => Promise<void>, number | undefined][] = [
      ['instruction edit', () => writeFile(path.join(dir, 'Dockerfile'), dockerfile('cat config.txt > /app/copied2')), 5],
      ['context file edit', () => writeFile(path.join(dir, 'config.txt'), 'mode=prod\n'), 4],
      ['.dockerignore\'d file edit', () => writeFile(path.join(dir, 'notes.log'), 'log v2\n'), undefined],
      ['new file in a copied folder', () => writeFile(path.join(dir, 'src', 'extra.txt'), 'new\n'), 6],
      [
        'base image change',
        async () => {
          const other = await buildOther();
          await docker.getImage(other).tag({ repo: `${REPO}/base`, tag: '1' });
        },
        2,
      ],
    ];
    for (const [name, edit, firstMissStep] of edits) {
      await edit();
      const predicted = await predict();
      const record = await build();
      assert.deepEqual(predicted.steps.map((step) => step.outcome), outcomes(record), `${name}: prediction matches the build`);
      assert.equal(record.firstMiss?.step, firstMissStep, `${name}: first miss`);
      assert.equal(predicted.firstMiss?.step, firstMissStep, `${name}: predicted first miss`);
    }
    const last = await store.read(path.join(dir, 'Dockerfile'));
    assert.equal(last?.firstMiss?.cause.kind, 'parent-changed');
  });

  async function buildOther(): Promise<string> {
    const other = await mkdtemp(path.join(os.tmpdir(), 'wharf-layers-other-'));
    try {
      await writeFile(path.join(other, 'Dockerfile'), `FROM ${busybox}\nRUN echo ${REPO} > /other\n`);
      const { record } = await buildDockerfile(docker, { dockerfile: path.join(other, 'Dockerfile'), engine: 'lab' });
      assert.equal(record.status, 'succeeded', record.error?.message);
      for (const step of record.steps) if (step.imageId && step.keyword !== 'FROM') made.add(step.imageId);
      return record.imageId!;
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  }

  it('counts a 10 MB file added in one layer and deleted in a later one as 10 MB wasted', async () => {
    const wasteDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-layers-waste-'));
    try {
      await writeFile(path.join(wasteDir, 'Dockerfile'), `FROM ${busybox}\nWORKDIR /work\nRUN echo ${REPO} && dd if=/dev/zero of=/big bs=1048576 count=10\nRUN echo small > /small\nRUN rm /big\n`);
      const tag = `${REPO}/waste:1`;
      const { record } = await buildDockerfile(docker, { dockerfile: path.join(wasteDir, 'Dockerfile'), tag, store, engine: 'lab' });
      tags.add(tag);
      for (const step of record.steps) if (step.imageId && step.keyword !== 'FROM') made.add(step.imageId);
      assert.equal(record.status, 'succeeded', record.error?.message);
      const report = await analyzeImage(docker, tag, { engine: 'lab', record });
      const waste = report.waste!;
      assert.ok(waste.wastedBytes >= 10 * 1048576 && waste.wastedBytes <= 10 * 1048576 + 64 * 1024, `wasted ${waste.wastedBytes}`);
      assert.equal(waste.top[0].path, 'big');
      assert.ok(waste.efficiency < 0.01, `efficiency ${waste.efficiency}`);
      assert.equal(report.rows.filter((row) => row.kind === 'base').length, 1);
      assert.equal(report.rows.find((row) => row.wastedBytes)?.line, 2, 'the waste is charged to the RUN at line 3 (WORKDIR made a layer of its own)');
      assert.ok(report.suggestions.some((s) => s.kind === 'wasted' && /\/big/.test(s.message)), 'a suggestion names /big');
      assert.ok(report.suggestions.some((s) => s.kind === 'chain'));

      // The same image without any record: history only.
      const bare = await analyzeImage(docker, tag, { engine: 'lab', waste: false });
      assert.equal(bare.rows.filter((row) => row.kind === 'base').length, 1, 'base found through the parent chain');
      assert.equal(bare.rows.length, 5);
    } finally {
      await rm(wasteDir, { recursive: true, force: true });
    }
  });

  it('shows a failed build at the failing instruction', async () => {
    const failDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-layers-fail-'));
    try {
      await writeFile(path.join(failDir, 'Dockerfile'), `FROM ${busybox}\nRUN echo ${REPO}\n\nRUN echo about to fail && \\\n    exit 3\nRUN echo never\n`);
      const { record } = await buildDockerfile(docker, { dockerfile: path.join(failDir, 'Dockerfile'), engine: 'lab' });
      for (const step of record.steps) if (step.imageId && step.keyword !== 'FROM') made.add(step.imageId);
      assert.equal(record.status, 'failed');
      assert.equal(record.error?.line, 3);
      assert.equal(record.error?.endLine, 4);
      assert.match(record.error?.message ?? '', /non-zero code: 3/);
      assert.deepEqual(outcomes(record), ['base', 'miss', 'failed', 'not-run']);
    } finally {
      await rm(failDir, { recursive: true, force: true });
    }
  });

  it('refuses a Dockerfile with a syntax error, naming the line', async () => {
    const badDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-layers-bad-'));
    try {
      await writeFile(path.join(badDir, 'Dockerfile'), `FROM ${busybox}\nRUN true\nCOPY onlyone\n`);
      await assert.rejects(buildDockerfile(docker, { dockerfile: path.join(badDir, 'Dockerfile'), engine: 'lab' }), /Dockerfile:3: COPY requires at least 2 arguments/);
    } finally {
      await rm(badDir, { recursive: true, force: true });
    }
  });
});
