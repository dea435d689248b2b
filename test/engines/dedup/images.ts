/** Image pairs for dedup tests and benchmarks: v1 = base + app data, v2 = v1 + a small layer, built here. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerCli } from '../../lab/lab';

/** Builds v1 FROM base (+ `baseBytes` of fresh data) and v2 FROM v1 (+ `appBytes`), with the classic builder. */
export async function buildPair(host: string, base: string, v1: string, v2: string, sizes: { baseBytes: number; appBytes: number }): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wharf-dedup-build-'));
  try {
    await fs.writeFile(path.join(dir, 'data.bin'), randomBytes(sizes.baseBytes));
    await fs.writeFile(path.join(dir, 'Dockerfile'), `FROM ${base}\nCOPY data.bin /opt/app/data.bin\n`);
    await dockerCli(host, ['build', '-q', '-t', v1, dir]);
    await fs.writeFile(path.join(dir, 'app.bin'), randomBytes(sizes.appBytes));
    await fs.writeFile(path.join(dir, 'Dockerfile'), `FROM ${v1}\nCOPY app.bin /opt/app/app.bin\n`);
    await dockerCli(host, ['build', '-q', '-t', v2, dir]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export async function removeImages(host: string, refs: string[]): Promise<void> {
  for (const ref of refs) await dockerCli(host, ['rmi', '-f', ref]).catch(() => undefined);
}
