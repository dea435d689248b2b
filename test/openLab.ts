/**
 * `npm run lab`: starts the lab, installs the freshly packaged Wharf into a real VS Code (the server
 * inside code-server), points Wharf's settings at the lab, prints the URL and stops everything on
 * Ctrl-C. Trust stays on and the connection token is random: anything local could otherwise drive
 * a root terminal through the workbench.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startVsCodeServer } from './host/server';
import { ensureLab, stopLab, type LabEndpoints } from './lab/lab';

interface Options {
  dockerHost?: string;
  vsix: string;
  noBrowserHint?: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { vsix: '' };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--docker-host') options.dockerHost = argv[++index];
    else if (arg.startsWith('--docker-host=')) options.dockerHost = arg.slice('--docker-host='.length);
    else if (arg === '--vsix') options.vsix = argv[++index];
    else throw new Error(`unknown option ${arg} (use --docker-host URL to browse your own engine)`);
  }
  if (!options.vsix) throw new Error('--vsix FILE is required (npm run lab passes it)');
  return options;
}

/** Wharf's settings for the lab, written as the server's machine settings. */
export function labSettings(endpoints: LabEndpoints): Record<string, unknown> {
  return {
    'wharf.showDefaultEngine': false,
    'wharf.engines': [
      { name: endpoints.docker.local.external ? 'your engine' : 'lab local', host: endpoints.docker.local.host },
      // The alias, so the lab's ssh config (key file, known_hosts) applies.
      { name: 'lab remote (over SSH)', host: `ssh://${endpoints.ssh.alias}` },
    ],
    'wharf.registries': [
      { name: 'test', address: endpoints.registries.test.address },
      { name: 'stage', address: endpoints.registries.stage.address },
    ],
    'wharf.etcd.clusters': [{ name: 'lab', endpoints: endpoints.etcd.endpoints }],
    'wharf.ssh.configFile': endpoints.ssh.configFile,
    'wharf.ssh.hosts': [endpoints.ssh.alias],
  };
}

/** A small workspace to open: a Dockerfile to look at and the lab's pipeline. */
async function writeWorkspace(endpoints: LabEndpoints): Promise<string> {
  const folder = path.join(endpoints.root, 'workspace');
  await mkdir(path.join(folder, '.wharf'), { recursive: true });
  await writeFile(
    path.join(folder, 'Dockerfile'),
    [`FROM ${endpoints.images.busybox}`, 'COPY index.html /www/index.html', 'EXPOSE 80', 'CMD ["httpd", "-f", "-p", "80", "-h", "/www"]', ''].join('\n'),
  );
  await writeFile(path.join(folder, 'index.html'), '<h1>Hello from the Wharf lab</h1>\n');
  const pipeline = {
    stages: [
      { name: 'test', registry: endpoints.registries.test.address },
      { name: 'stage', registry: endpoints.registries.stage.address },
    ],
  };
  await writeFile(path.join(folder, '.wharf', 'pipeline.json'), `${JSON.stringify(pipeline, null, 2)}\n`);
  return folder;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`lab: ${line}\n`);
  const { endpoints, startedHere } = await ensureLab({ dockerHost: options.dockerHost, log });
  const folder = await writeWorkspace(endpoints);
  const server = await startVsCodeServer({
    dataDir: path.join(endpoints.root, 'vscode'),
    installExtensions: [options.vsix],
    machineSettings: labSettings(endpoints),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping…\n');
    await server.stop();
    if (startedHere) await stopLab({ log });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const url = server.workbenchUrl({ folder });
  process.stdout.write(
    [
      '',
      `Wharf is running in VS Code ${server.host.version}.`,
      `Open: ${url}`,
      '',
      `Lab: engines ${endpoints.docker.local.host} and ${endpoints.ssh.url} (SSH), registries test=${endpoints.registries.test.address} stage=${endpoints.registries.stage.address},`,
      `     etcd ${endpoints.etcd.endpoints.join(',')}, nginx ${endpoints.nginx.url}`,
      startedHere ? 'Press Ctrl-C to stop VS Code and the lab.' : 'Press Ctrl-C to stop VS Code (the lab was already running and stays up).',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run lab: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
