/**
 * Proof that an image arrived, without asking the host again (each question starts a session and a
 * docker CLI there: 0.3 s or more on a busy host). An image id is the sha256 of its config, and
 * `docker load` derives the id from the config bytes it reads. So when the archive we sent carried
 * config bytes that hash to the source's id, and `docker load` succeeded and named the tag (or the
 * id), the host has exactly that image under that tag. Anything less, and the caller asks the host.
 */
import { createHash } from 'node:crypto';
import type { TarEntry } from './tarStream';

/** The references `docker load` reports: "Loaded image: repo:tag" / "Loaded image ID: sha256:…". */
export function parseLoaded(output: string): string[] {
  return [...output.matchAll(/Loaded image(?: ID)?: (\S+)/g)].map((match) => match[1]);
}

/** Watches an archive (as TarFilter capture hooks) for the config of image ID. */
export class ConfigWitness {
  /** The config entry went by and its bytes hash to the id. */
  seen = false;
  private readonly names: string[];

  constructor(private readonly id: string) {
    const hex = id.replace(/^sha256:/, '');
    // Legacy `docker save` names it <hex>.json; the OCI layout blobs/sha256/<hex>.
    this.names = [`${hex}.json`, `blobs/sha256/${hex}`];
  }

  readonly wants = (entry: TarEntry): boolean => this.names.includes(entry.name);

  readonly check = (entry: TarEntry, content: Buffer): void => {
    if (this.wants(entry) && `sha256:${createHash('sha256').update(content).digest('hex')}` === this.id) this.seen = true;
  };

  /** True when the load output names EXPECTED (the tag, or the id when there is none) and the config was seen. */
  proves(loadOutput: string, expected: string): boolean {
    return this.seen && parseLoaded(loadOutput).includes(expected);
  }
}
