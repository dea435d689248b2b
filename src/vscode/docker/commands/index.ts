/** The Docker explorer's command ids and handlers, spread into the one table in registerCommands.ts. */
import type { Services } from '../../services';
import { copyImageDigest } from './copyImageDigest';
import { copyImageReference } from './copyImageReference';
import { chooseEngine, retryEngine } from './engineCommands';
import { imageHistory } from './imageHistory';
import { inspectContainer } from './inspectContainer';
import { inspectImage } from './inspectImage';
import { openContainerShell } from './openContainerShell';
import { pruneImages } from './pruneImages';
import { pullImage } from './pullImage';
import { refreshContainers, refreshImages } from './refreshViews';
import { removeContainer } from './removeContainer';
import { removeImage } from './removeImage';
import { restartContainer } from './restartContainer';
import { showContainerLogs } from './showContainerLogs';
import { startContainer } from './startContainer';
import { stopContainer } from './stopContainer';
import { tagImage } from './tagImage';
import { toggleDanglingImages } from './toggleDanglingImages';

type Handler = (services: Services, ...args: never[]) => unknown;

export const dockerCommands: Record<string, Handler> = {
  'wharf.refreshImages': refreshImages,
  'wharf.refreshContainers': refreshContainers,
  'wharf.retryEngine': retryEngine,
  'wharf.chooseEngine': chooseEngine,
  'wharf.inspectImage': inspectImage,
  'wharf.imageHistory': imageHistory,
  'wharf.tagImage': tagImage,
  'wharf.removeImage': removeImage,
  'wharf.pruneImages': pruneImages,
  'wharf.copyImageReference': copyImageReference,
  'wharf.copyImageDigest': copyImageDigest,
  'wharf.pullImage': pullImage,
  'wharf.toggleDanglingImages': toggleDanglingImages,
  'wharf.startContainer': startContainer,
  'wharf.stopContainer': stopContainer,
  'wharf.restartContainer': restartContainer,
  'wharf.removeContainer': removeContainer,
  'wharf.showContainerLogs': showContainerLogs,
  'wharf.inspectContainer': inspectContainer,
  'wharf.openContainerShell': openContainerShell,
};
