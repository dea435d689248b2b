/** Removes an image tag (the image goes when its last tag does), after a modal confirmation. */
import { removeImage as remove } from '../../../engines/docker/imageOps';
import type { Services } from '../../services';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import { confirm, pickImage, type CommandOptions } from './pick';

export async function removeImage(services: Services, node?: unknown, _selected?: unknown, options?: CommandOptions): Promise<{ untagged: string[]; deleted: string[] } | undefined> {
  if (!requireTrust('Removing an image')) return undefined;
  const { engineId, image } = await pickImage(services, node, { allowDangling: true });
  const ref = image.dangling ? image.id : image.reference;
  const explorer = dockerExplorer(services);
  const engine = explorer.engines.get(engineId);
  const detail = image.dangling ? `the untagged image ${image.id.slice(7, 19)}` : `the tag ${ref}`;
  if (!(await confirm(`Remove ${detail} from engine ${engine?.config.name ?? engineId}? The image itself is deleted when no other tag or container uses it.`, 'Remove', options))) return undefined;
  const result = await remove(await explorer.engines.docker(engineId), ref);
  services.log.info(`removed ${ref}: ${result.untagged.length} untagged, ${result.deleted.length} layers deleted`);
  explorer.refresh.refresh('images', 'command');
  return result;
}
