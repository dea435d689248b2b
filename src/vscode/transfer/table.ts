/** Transfers over SSH and to files: one file per verb, registered through this table. */
import type { Services } from '../services';
import { exportContainer } from './exportContainer';
import { importImage } from './importImage';
import { loadImage } from './loadImage';
import { saveImage } from './saveImage';
import { sendToHost } from './sendToHost';

type Handler = (services: Services, ...args: never[]) => unknown;

export const transferCommands: Record<string, Handler> = {
  'wharf.sendToHost': sendToHost,
  'wharf.exportContainer': exportContainer,
  'wharf.importImage': importImage,
  'wharf.saveImage': saveImage,
  'wharf.loadImage': loadImage,
};
