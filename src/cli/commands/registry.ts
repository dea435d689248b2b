/** `wharf registry ls REGISTRY[/REPO]`, `wharf registry tags REPO`, `wharf registry inspect REF`. */
import { RegistryClient } from '../../engines/registry/client';
import { dockerConfigCredentials } from '../../engines/registry/credentials';
import { isIndexType, parseJson, platformString, type ImageManifestJson, type IndexJson } from '../../engines/registry/manifest';
import { manifestRef, parseReference, parseRepository } from '../../engines/registry/reference';
import { parseRegistryAddress } from '../../engines/registry/address';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';

const USAGE = [
  'wharf registry ls REGISTRY[/REPO] [--limit N] [--json]   (repositories, or tags of REPO)',
  '       wharf registry tags REGISTRY/REPO [--limit N] [--json]',
  '       wharf registry inspect REGISTRY/REPO:TAG [--json]',
  '  credentials from ~/.docker/config.json (auths and credential helpers)',
].join('\n');

function client(registry: string): RegistryClient {
  return new RegistryClient({ registry, credentials: dockerConfigCredentials(), onWait: (seconds, reason) => process.stderr.write(`wharf registry: ${reason}; waiting ${seconds} s\n`) });
}

async function listing(pages: AsyncIterable<string[]>, limit: number, json: boolean, column: string): Promise<void> {
  const items = await RegistryClient.collect(pages, limit);
  const shown = items.slice(0, limit);
  if (json) printJson(shown);
  else printTable(shown.map((name) => ({ [column]: name })), [column]);
}

export const registry: CliCommand = {
  name: 'registry',
  summary: 'list repositories and tags of a registry, inspect a manifest',
  usage: USAGE,
  valueFlags: ['limit'],
  async run(args: ParsedArgs) {
    const [verb, target] = args.positionals;
    if (!verb || !target) throw new UsageError('give a verb and a target');
    const json = args.flags.has('json');
    const limitText = stringFlag(args, 'limit');
    const limit = limitText === undefined ? Number.POSITIVE_INFINITY : Number(limitText);
    if (!(limit >= 1)) throw new UsageError('--limit must be ≥ 1');
    if (verb === 'ls' && !target.replace(/^https?:\/\//, '').includes('/')) {
      const address = parseRegistryAddress(target);
      await listing(client(address.name).catalog({ pageSize: 1000 }), limit, json, 'repository');
      return 0;
    }
    if (verb === 'ls' || verb === 'tags') {
      const repo = parseRepository(target);
      await listing(client(repo.registry).tags(repo.repository, { pageSize: 1000 }), limit, json, 'tag');
      return 0;
    }
    if (verb === 'inspect') {
      const ref = parseReference(target);
      const manifest = await client(ref.registry).getManifest(ref.repository, manifestRef(ref));
      if (json) {
        printJson({ digest: manifest.digest, mediaType: manifest.mediaType, manifest: JSON.parse(manifest.bytes.toString('utf8')) });
        return 0;
      }
      process.stdout.write(`digest     ${manifest.digest}\nmedia type ${manifest.mediaType}\n`);
      if (isIndexType(manifest.mediaType)) {
        const index = parseJson<IndexJson>(manifest.bytes, target);
        printTable(index.manifests.map((child) => ({ platform: platformString(child.platform), digest: child.digest, size: child.size })), ['platform', 'digest', 'size']);
      } else {
        const image = parseJson<ImageManifestJson>(manifest.bytes, target);
        printTable([{ kind: 'config', ...image.config }, ...image.layers.map((layer) => ({ kind: 'layer', ...layer }))], ['kind', 'digest', 'size', 'mediaType']);
      }
      return 0;
    }
    throw new UsageError(`unknown verb "${verb}"`);
  },
};
