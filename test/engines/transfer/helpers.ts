/** Shared set-up for the transfer tests: the lab, its two engines and an SSH connection to the host. */
import Docker from 'dockerode';
import { dockerCli, ensureLab, type LabEndpoints } from '../../lab/lab';
import { labEnv } from '../../lab/processes';
import { openHost, type OpenHost } from '../../../src/engines/transfer/host';

export interface TransferLab {
  lab: LabEndpoints;
  docker: Docker;
  /** The docker CLI on the local / remote engine (the remote one only as a test oracle). */
  local(args: string[], input?: string): Promise<string>;
  remote(args: string[]): Promise<string>;
  open(): Promise<OpenHost>;
}

export async function transferLab(): Promise<TransferLab> {
  const { endpoints: lab } = await ensureLab();
  const localHost = lab.docker.local.host;
  return {
    lab,
    docker: new Docker({ socketPath: lab.docker.local.socket }),
    // The classic builder, as the lab's engine (20.10) and the per-instruction layers need.
    local: (args, input) => dockerCli(localHost, args, { input, env: labEnv({ DOCKER_BUILDKIT: '0' }) }),
    remote: (args) => dockerCli(lab.docker.remote.host, args),
    open: () => openHost({ host: lab.ssh.alias, configFile: lab.ssh.configFile }),
  };
}

/** The image id of REF on an engine, or undefined. */
export async function imageId(run: (args: string[]) => Promise<string>, ref: string): Promise<string | undefined> {
  try {
    return (await run(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
  } catch {
    return undefined;
  }
}

/** Removes images, ignoring the ones already gone. */
export async function removeImages(run: (args: string[]) => Promise<string>, refs: string[]): Promise<void> {
  for (const ref of refs) await run(['image', 'rm', '--force', ref]).catch(() => undefined);
}

/** Builds TAG from FROM plus one layer of N random bytes in FILE (classic builder, no context). */
export async function buildRandomLayer(t: TransferLab, from: string, tag: string, file: string, bytes: number): Promise<string> {
  const dockerfile = `FROM ${from}\nRUN head -c ${bytes} /dev/urandom > ${file}\n`;
  await t.local(['build', '--quiet', '--tag', tag, '-'], dockerfile);
  return (await imageId(t.local, tag)) ?? '';
}
