/** `wharf images`: the Images tree as a table, grouped by repository; dangling ones with --all. */
import { formatAge, formatSize, groupImages, imageTags, listImages, shortId } from '../../engines/docker/images';
import type { ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';
import { ENGINE_FLAGS, withEngine } from './engineFlags';

export const images: CliCommand = {
  name: 'images',
  summary: 'list the images of an engine, grouped by repository',
  usage: 'wharf images [--host URL | --context NAME] [--ssh-config FILE] [--all] [--json]',
  valueFlags: ENGINE_FLAGS,
  async run(args: ParsedArgs) {
    const groups = await withEngine(args, async (docker, endpoint) => groupImages(imageTags(await listImages(docker, `engine ${endpoint.label}`)), { showDangling: args.flags.has('all') }));
    if (args.flags.has('json')) printJson(groups);
    else {
      printTable(
        groups.flatMap((group) => group.tags.map((tag) => ({ repository: group.repository, tag: tag.tag, id: shortId(tag.id), size: formatSize(tag.size), created: formatAge(tag.created) }))),
        ['repository', 'tag', 'id', 'size', 'created'],
      );
    }
    return 0;
  },
};
