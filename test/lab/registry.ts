// Two plain registries (CNCF Distribution 2.8 from Debian) on loopback: "test" and "stage".
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RegistryEndpoint } from './endpoints';
import { httpOk, startDaemon, waitUntil } from './processes';

export type RegistryName = 'test' | 'stage';
export const registryPart = (name: RegistryName) => `registry-${name}`;

export async function startRegistry(root: string, name: RegistryName, port: number): Promise<RegistryEndpoint & { pid: number }> {
  const dir = path.join(root, 'registry', name);
  const storage = path.join(dir, 'data');
  await fs.mkdir(storage, { recursive: true });
  const config = path.join(dir, 'config.yml');
  const address = `127.0.0.1:${port}`;
  // JSON is valid YAML: no quoting surprises with paths.
  const yml = {
    version: 0.1,
    log: { level: 'info', fields: { service: `wharf-lab-${name}` } },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
    },
    http: { addr: address, secret: `wharf-lab-${name}` },
  };
  await fs.writeFile(config, JSON.stringify(yml, null, 2) + '\n');
  const part = registryPart(name);
  const pid = await startDaemon(root, { part, cmd: 'docker-registry', args: ['serve', config] });
  const url = `http://${address}`;
  await waitUntil(() => httpOk({ url: `${url}/v2/` }), { root, part, pid, timeoutMs: 20_000 });
  return { address, url, storage, pid };
}
