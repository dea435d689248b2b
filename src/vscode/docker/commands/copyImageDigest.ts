/** Copies repository@sha256:..., which only exists once an image was pushed or pulled. */
import * as vscode from 'vscode';
import { WharfError } from '../../../engines/core/errors';
import type { Services } from '../../services';
import { pickImage } from './pick';

export async function copyImageDigest(services: Services, node?: unknown): Promise<string> {
  const { image } = await pickImage(services, node, { allowDangling: true });
  if (!image.digest) {
    throw new WharfError({ code: 'not-found', object: `image ${image.reference}`, cause: 'it has no registry digest (it was never pushed or pulled)', remedy: 'Push it to a registry first, or copy the image id instead' });
  }
  await vscode.env.clipboard.writeText(image.digest);
  return image.digest;
}
