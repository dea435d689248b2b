/**
 * tcp:// engines with TLS, against the lab engine's own `dockerd --tlsverify` listener: the docker
 * CLI's DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH rules, and each TLS failure named with
 * its way out (untrusted server, our client certificate missing or refused, files missing).
 */
import assert from 'node:assert/strict';
import { mkdtemp, copyFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWharfError } from '../../../src/engines/core/errors';
import { connectEngine, probeEngine } from '../../../src/engines/docker/client';
import { resolveEndpoint } from '../../../src/engines/docker/endpoint';
import { listImages } from '../../../src/engines/docker/images';
import { ensureLab, type LabEndpoints } from '../../lab/lab';

describe('tcp:// engine with TLS (the lab engine, dockerd --tlsverify)', () => {
  let e: LabEndpoints;
  let tls: NonNullable<LabEndpoints['docker']['local']['tls']>;
  let caOnly: string;
  before(async () => {
    e = (await ensureLab()).endpoints;
    assert.ok(e.docker.local.tls, 'the lab engine has a TLS listener (lab started by this checkout)');
    tls = e.docker.local.tls;
    caOnly = await mkdtemp(path.join(os.tmpdir(), 'wharf-tls-'));
    await copyFile(path.join(tls.certPath, 'ca.pem'), path.join(caOnly, 'ca.pem'));
  });
  after(async () => {
    if (caOnly) await rm(caOnly, { recursive: true, force: true });
  });
  const engine = async (env: NodeJS.ProcessEnv) => {
    const endpoint = await resolveEndpoint({ env: { DOCKER_HOST: tls.host, ...env } });
    return { endpoint, docker: await connectEngine(endpoint) };
  };

  it('DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH: mutual TLS, the engine answers and lists the lab image', async () => {
    const { endpoint, docker } = await engine({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.certPath });
    assert.equal(endpoint.kind, 'tcp');
    const info = await probeEngine(docker, endpoint);
    assert.match(info.version, /^\d+\./);
    const images = await listImages(docker);
    assert.ok(images.some((image) => image.RepoTags?.includes(e.images.busybox)), 'the lab busybox image is listed over TLS');
  });

  it('a server signed by a CA we do not trust is refused, and the message says so', async () => {
    const { endpoint, docker } = await engine({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.otherCaPath });
    await assert.rejects(probeEngine(docker, endpoint), (error: unknown) => isWharfError(error, 'tls') && /not signed by a CA we trust/.test(error.reason) && /ca\.pem/.test(error.remedy ?? ''));
  });

  it('verification on but no client certificate files: an error up front naming the missing file', async () => {
    await assert.rejects(engine({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: caOnly }), (error: unknown) => isWharfError(error, 'tls') && error.reason.includes(path.join(caOnly, 'cert.pem')));
  });

  it('without a client certificate the engine refuses us, and the message says why', async () => {
    // Encrypted but unchecked (DOCKER_CERT_PATH without DOCKER_TLS_VERIFY), and no cert.pem/key.pem to offer.
    const { endpoint, docker } = await engine({ DOCKER_CERT_PATH: caOnly });
    await assert.rejects(probeEngine(docker, endpoint), (error: unknown) => isWharfError(error, 'tls') && /refused our client certificate/.test(error.reason));
  });
});
