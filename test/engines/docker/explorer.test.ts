/**
 * The Docker explorer's engines against the lab: the local engine by unix socket and the remote
 * engine (in its own network namespace) over ssh:// through the lab's sshd, listing, grouping,
 * events with reconnects, pull errors, demultiplexed logs, and the failures users hit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { closeEngine, connectEngine, sshDialerOf } from '../../../src/engines/docker/client';
import { followLogs, removeContainer, startContainer, stopContainer } from '../../../src/engines/docker/containerOps';
import { COMPOSE_PROJECT, groupContainers, listContainers } from '../../../src/engines/docker/containers';
import { parseHost } from '../../../src/engines/docker/endpoint';
import { EngineSet, engineConfigs } from '../../../src/engines/docker/engineSet';
import { watchEvents, type ChangeKind } from '../../../src/engines/docker/events';
import { imageHistory, pruneDanglingImages, removeImage, splitReference, tagImage } from '../../../src/engines/docker/imageOps';
import { groupImages, imageTags, listImages } from '../../../src/engines/docker/images';
import { pullImage } from '../../../src/engines/docker/pull';
import { ensureLab, type LabEndpoints } from '../../lab/lab';
import { importTinyImage } from './fixtures';

const run = promisify(execFile);
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const REPO = `wharf-test/explorer-${suffix}`;

let lab: LabEndpoints;
let local: Docker;
let remote: Docker;

/** Waits until `check` holds, polling every 50 ms; fails with `what` after the limit. */
async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, limitMs = 20_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  lab = (await ensureLab()).endpoints;
  assert.equal(lab.docker.local.external, false, 'the engine tests only run against the lab engine');
  local = await connectEngine(parseHost(lab.docker.local.host));
  remote = await connectEngine(parseHost(`ssh://${lab.ssh.alias}`), { sshConfigFile: lab.ssh.configFile });
}, { timeout: 300_000 });

after(async () => {
  for (const docker of [local, remote]) {
    if (!docker) continue;
    for (const image of await docker.listImages().catch(() => [])) {
      for (const tag of image.RepoTags ?? []) if (tag.startsWith('wharf-test/')) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    }
    closeEngine(docker);
  }
});

describe('two engines', () => {
  it('reaches the local engine by unix socket and the remote one over ssh://, which are different engines', async () => {
    // Both lab engines share a host (and an engine ID); their data roots tell them apart.
    const [localInfo, remoteInfo] = await Promise.all([local.info(), remote.info()]);
    assert.notEqual(localInfo.DockerRootDir, remoteInfo.DockerRootDir, 'ssh:// reached the local engine, not the remote one');
    // The oracle: the remote engine's own socket answers with the same data root.
    const { stdout } = await run('docker', ['-H', lab.docker.remote.host, 'info', '--format', '{{.DockerRootDir}}']);
    assert.equal(stdout.trim(), remoteInfo.DockerRootDir);
  });

  it('carries every request over one SSH connection (no handshake per request)', async () => {
    const dialer = sshDialerOf(remote);
    assert.ok(dialer);
    const before = dialer.handshakes;
    await Promise.all(Array.from({ length: 12 }, () => remote.ping()));
    for (let i = 0; i < 5; i++) await listImages(remote);
    assert.equal(dialer.handshakes - before, before === 0 ? 1 : 0);
    assert.equal(dialer.handshakes, 1);
  });

  it('reconnects when the SSH connection drops', async () => {
    const dialer = sshDialerOf(remote)!;
    const handshakes = dialer.handshakes;
    dialer.dropConnection();
    await remote.ping();
    assert.equal(dialer.handshakes, handshakes + 1);
  });

  it('uploads over SSH: an image imported through the tunnel lists on the remote engine only', async () => {
    const id = await importTinyImage(remote, REPO, 'remote');
    const remoteTags = imageTags(await listImages(remote));
    assert.ok(remoteTags.some((tag) => tag.reference === `${REPO}:remote` && tag.id === id));
    const localTags = imageTags(await listImages(local));
    assert.ok(!localTags.some((tag) => tag.reference === `${REPO}:remote`));
    await removeImage(remote, `${REPO}:remote`);
  });

  it('an EngineSet shows the default engine and configured ones, each connected once', async () => {
    const set = new EngineSet({ env: { DOCKER_HOST: lab.docker.local.host }, sshConfigFile: lab.ssh.configFile });
    try {
      set.configure(engineConfigs(true, [{ name: 'remote', host: `ssh://${lab.ssh.alias}` }, { name: 'remote', host: 'unix:///nonexistent.sock' }]));
      assert.deepEqual(set.engines.map((engine) => engine.id), ['default', 'engine:remote', 'engine:remote (2)']);
      const ids = await Promise.all(set.engines.slice(0, 2).map(async (engine) => (await (await engine.docker()).info()).DockerRootDir));
      assert.notEqual(ids[0], ids[1]);
      const first = await set.engines[1].docker();
      set.configure(engineConfigs(true, [{ name: 'remote', host: `ssh://${lab.ssh.alias}` }]));
      assert.equal(await set.engines[1].docker(), first, 'an unchanged engine keeps its connection');
    } finally {
      set.dispose();
    }
  });
});

describe('listing and grouping', () => {
  const made: string[] = [];
  let containerIds: string[] = [];

  before(async () => {
    await importTinyImage(local, REPO, 'a');
    await importTinyImage(local, REPO, 'b');
    await tagImage(local, `${REPO}:a`, `${REPO}:a-alias`);
    made.push(`${REPO}:a`, `${REPO}:b`, `${REPO}:a-alias`);
    // Two containers of one compose project and one of none, from the lab's busybox.
    const create = (name: string, labels: Record<string, string>) =>
      local.createContainer({ name: `${name}-${suffix}`, Image: lab.images.busybox, Cmd: ['sleep', '300'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
    const containers = await Promise.all([
      create('wharf-web', { [COMPOSE_PROJECT]: `shop-${suffix}`, 'com.docker.compose.service': 'web' }),
      create('wharf-db', { [COMPOSE_PROJECT]: `shop-${suffix}`, 'com.docker.compose.service': 'db' }),
      create('wharf-lone', {}),
    ]);
    containerIds = containers.map((container) => container.id);
    await startContainer(local, containerIds[0]);
  });

  after(async () => {
    for (const id of containerIds) await removeContainer(local, id, { force: true }).catch(() => undefined);
    for (const ref of made) await local.getImage(ref).remove({ force: true }).catch(() => undefined);
  });

  it('groups images by repository with every tag, size and date', async () => {
    const groups = groupImages(imageTags(await listImages(local)));
    const mine = groups.find((group) => group.repository === REPO);
    assert.ok(mine, `no group ${REPO}`);
    assert.deepEqual(mine.tags.map((tag) => tag.tag).sort(), ['a', 'a-alias', 'b']);
    const [a, alias] = ['a', 'a-alias'].map((name) => mine.tags.find((tag) => tag.tag === name)!);
    assert.equal(a.id, alias.id, 'two tags of one image share its id');
    assert.ok(mine.tags.every((tag) => tag.size > 0 && tag.created > 0));
    const busyboxRepo = lab.images.busybox.slice(0, lab.images.busybox.lastIndexOf(':'));
    assert.ok(groups.some((group) => group.repository === busyboxRepo));
  });

  it('hides dangling images unless asked, and prune removes them and reports the space', async () => {
    // Re-using a tag leaves the previous image dangling.
    const first = await importTinyImage(local, REPO, 'moving', 'first');
    await importTinyImage(local, REPO, 'moving', 'second');
    made.push(`${REPO}:moving`);
    const tags = imageTags(await listImages(local));
    const dangling = tags.find((tag) => tag.id === first);
    assert.ok(dangling?.dangling, 'the replaced image is dangling');
    assert.ok(!groupImages(tags).some((group) => group.tags.some((tag) => tag.id === first)));
    assert.ok(groupImages(tags, { showDangling: true }).some((group) => group.tags.some((tag) => tag.id === first)));
    const pruned = await pruneDanglingImages(local);
    assert.ok(pruned.deleted >= 1);
    assert.ok(pruned.spaceReclaimed > 0);
    assert.ok(!imageTags(await listImages(local)).some((tag) => tag.id === first));
    assert.ok(imageTags(await listImages(local)).some((tag) => tag.reference === `${REPO}:moving`), 'prune never touches tagged images');
  });

  it('groups containers by compose project, with state, image and no size computation', async () => {
    const groups = groupContainers(await listContainers(local));
    const shop = groups.find((group) => group.project === `shop-${suffix}`);
    assert.ok(shop);
    assert.deepEqual(shop.containers.map((container) => container.service).sort(), ['db', 'web']);
    const web = shop.containers.find((container) => container.service === 'web')!;
    assert.equal(web.state, 'running');
    assert.equal(web.image, lab.images.busybox);
    assert.equal(shop.containers.find((container) => container.service === 'db')!.state, 'created');
    const loose = groups.find((group) => group.project === undefined);
    assert.ok(loose?.containers.some((container) => container.name === `wharf-lone-${suffix}`));
    assert.equal(groups[groups.length - 1].project, undefined, 'containers of no project come last');
  });

  it('history lists the layers of an image', async () => {
    const history = await imageHistory(local, lab.images.busybox);
    assert.ok(history.length >= 1);
    assert.ok(history.every((entry) => typeof entry.Size === 'number'));
  });

  it('stop then start a container changes its state; stopping twice is fine', async () => {
    await stopContainer(local, containerIds[0], 1);
    await stopContainer(local, containerIds[0], 1);
    assert.equal((await local.getContainer(containerIds[0]).inspect()).State.Running, false);
    await startContainer(local, containerIds[0]);
    assert.equal((await local.getContainer(containerIds[0]).inspect()).State.Running, true);
  });
});

describe('logs', () => {
  it('splits stdout and stderr of a non-TTY container (demultiplexed frames)', async () => {
    const container = await local.createContainer({
      Image: lab.images.busybox,
      Cmd: ['sh', '-c', 'echo out-line; echo err-line >&2; echo out-two'],
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await container.start();
      await container.wait();
      const logs = await followLogs(local, container.id, { follow: false });
      const collect = (stream: NodeJS.ReadableStream) =>
        new Promise<string>((resolve) => {
          let text = '';
          stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
          stream.on('end', () => resolve(text));
        });
      const [out, err] = await Promise.all([collect(logs.stdout), collect(logs.stderr)]);
      assert.equal(out, 'out-line\nout-two\n');
      assert.equal(err, 'err-line\n');
    } finally {
      await container.remove({ force: true });
    }
  });
});

describe('events', () => {
  it('reports an image change once per burst, and a container change separately', async () => {
    const bursts: Set<ChangeKind>[] = [];
    let connectedAt = 0;
    const watch = watchEvents(async () => local, { debounceMs: 300, onChange: (kinds) => bursts.push(kinds), onConnection: (up) => up && connectedAt++ });
    try {
      await eventually('the event stream', () => connectedAt > 0);
      await importTinyImage(local, REPO, 'evt');
      await tagImage(local, `${REPO}:evt`, `${REPO}:evt2`);
      const burst = await eventually('an image event', () => bursts.find((kinds) => kinds.has('image')));
      assert.ok(!burst.has('container'));
      await removeImage(local, `${REPO}:evt`);
      await removeImage(local, `${REPO}:evt2`);
      await eventually('the removal event', () => bursts.filter((kinds) => kinds.has('image')).length >= 2);
    } finally {
      watch.dispose();
    }
  });

  it('reconnects after the stream drops (SSH connection cut) and reports both kinds', async () => {
    const bursts: Set<ChangeKind>[] = [];
    const dialer = sshDialerOf(remote)!;
    const watch = watchEvents(async () => remote, { debounceMs: 200, backoffMs: 100, onChange: (kinds) => bursts.push(kinds) });
    try {
      await eventually('the first connection', () => watch.connected);
      dialer.dropConnection();
      await eventually('a reconnect', () => watch.connects >= 2 && watch.connected);
      await eventually('a catch-up refresh of both kinds', () => bursts.some((kinds) => kinds.has('image') && kinds.has('container')));
      bursts.length = 0;
      await importTinyImage(remote, REPO, 'after-reconnect');
      await eventually('an image event after the reconnect', () => bursts.some((kinds) => kinds.has('image')));
      await removeImage(remote, `${REPO}:after-reconnect`);
    } finally {
      watch.dispose();
    }
  });

  it('keeps retrying an engine that is down, without failing', async () => {
    const down = await connectEngine(parseHost('unix:///nonexistent/wharf.sock'));
    let drops = 0;
    const watch = watchEvents(async () => down, { backoffMs: 20, maxBackoffMs: 40, onChange: () => undefined, onConnection: (up) => !up && drops++ });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(watch.connected, false);
      assert.equal(watch.connects, 0);
    } finally {
      watch.dispose();
    }
  });
});

describe('pull', () => {
  it('pulls from the lab registry and follows the stream to its end', async () => {
    const result = await pullImage(local, lab.images.registryBusybox);
    assert.match(result.status ?? '', /Downloaded|up to date/);
    assert.ok(imageTags(await listImages(local)).some((tag) => tag.reference === lab.images.registryBusybox));
  });

  it('fails on a missing tag with a specific message', async () => {
    await assert.rejects(pullImage(local, `${lab.registries.test.address}/wharf-missing/nothing:nope`), (error: unknown) => isWharfError(error, 'not-found') && /wharf-missing\/nothing:nope/.test(error.message));
  });
});

describe('failures say why', () => {
  it('a missing socket is unreachable with the reason and a way out', async () => {
    const docker = await connectEngine(parseHost('unix:///nonexistent/wharf.sock'));
    await assert.rejects(listImages(docker, 'engine broken'), (error: unknown) => isWharfError(error, 'unreachable') && /engine broken: no such socket\. .*choose another engine/.test(error.message));
  });

  it('a closed TCP port is "connection refused"', async () => {
    const docker = await connectEngine(parseHost('tcp://127.0.0.1:1'));
    await assert.rejects(listContainers(docker, 'engine tcp'), (error: unknown) => isWharfError(error, 'unreachable') && /connection refused/.test(error.message));
  });

  it('an SSH host whose key does not match known_hosts is refused', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-hostkey-'));
    let docker: Docker | undefined;
    try {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other')]);
      const otherKey = (await readFile(path.join(dir, 'other.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
      const knownHosts = path.join(dir, 'known_hosts');
      await writeFile(knownHosts, `${lab.ssh.host} ${otherKey}\n`);
      const config = (await readFile(lab.ssh.configFile, 'utf8')).replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${knownHosts}`);
      await writeFile(path.join(dir, 'config'), config);
      docker = await connectEngine(parseHost(`ssh://${lab.ssh.alias}`), { sshConfigFile: path.join(dir, 'config') });
      await assert.rejects(docker.ping(), (error: unknown) => isWharfError(error, 'host-key') && /host key changed/.test(error.message) && /ssh-keygen -R/.test(error.message));
    } finally {
      if (docker) closeEngine(docker);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown host key is refused unless the caller accepts it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-hostkey-'));
    let docker: Docker | undefined;
    try {
      const config = (await readFile(lab.ssh.configFile, 'utf8')).replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${path.join(dir, 'known_hosts')}`);
      await writeFile(path.join(dir, 'config'), config);
      docker = await connectEngine(parseHost(`ssh://${lab.ssh.alias}`), { sshConfigFile: path.join(dir, 'config') });
      await assert.rejects(docker.ping(), (error: unknown) => isWharfError(error, 'host-key') && /not in known_hosts/.test(error.message));
    } finally {
      if (docker) closeEngine(docker);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bad references for tag are refused before any call', () => {
    for (const bad of ['', 'UPPER/case', 'a b', 'repo@sha256:abc', 'repo:bad tag', 'repo:-x']) {
      assert.throws(() => splitReference(bad), (error: unknown) => isWharfError(error, 'bad-input'), bad);
    }
    assert.deepEqual(splitReference('127.0.0.1:5000/team/app'), { repo: '127.0.0.1:5000/team/app', tag: 'latest' });
    assert.deepEqual(splitReference('team/app:1.2'), { repo: 'team/app', tag: '1.2' });
  });
});
