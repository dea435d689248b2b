/** The refresh buttons of the Images and Containers views: immediate, not debounced. */
import type { Services } from '../../services';
import { dockerExplorer } from '../explorer';

export function refreshImages(services: Services): void {
  dockerExplorer(services).refresh.refresh('images', 'manual');
}

export function refreshContainers(services: Services): void {
  dockerExplorer(services).refresh.refresh('containers', 'manual');
}
