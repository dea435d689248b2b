/** Copies an image's full reference (repository:tag, or the id of an untagged image). */
import * as vscode from 'vscode';
import type { Services } from '../../services';
import { pickImage } from './pick';

export async function copyImageReference(services: Services, node?: unknown): Promise<string> {
  const { image } = await pickImage(services, node, { allowDangling: true });
  const text = image.dangling ? image.id : image.reference;
  await vscode.env.clipboard.writeText(text);
  return text;
}
