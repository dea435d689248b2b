/** Adds a tag to an image; the reference is checked before the engine sees it. */
import * as vscode from 'vscode';
import { splitReference, tagImage as tag } from '../../../engines/docker/imageOps';
import type { Services } from '../../services';
import { requireTrust } from '../../trust';
import { dockerExplorer } from '../explorer';
import { pickImage } from './pick';
import { validateWith } from '../../validate';

export async function tagImage(services: Services, node?: unknown, _selected?: unknown, target?: string): Promise<string | undefined> {
  if (!requireTrust('Tagging an image')) return undefined;
  const { engineId, image } = await pickImage(services, node, { allowDangling: true });
  const source = image.dangling ? image.id : image.reference;
  const reference =
    typeof target === 'string'
      ? target
      : await vscode.window.showInputBox({
          title: `Tag ${source}`,
          prompt: 'New reference: [registry[:port]/]repository[:tag]',
          value: image.dangling ? '' : image.reference,
          validateInput: validateWith(splitReference),
        });
  if (!reference) return undefined;
  const explorer = dockerExplorer(services);
  await tag(await explorer.engines.docker(engineId), source, reference);
  services.log.info(`tagged ${source} as ${reference}`);
  explorer.refresh.refresh('images', 'command');
  return reference;
}
