/** The Registries command ids and handlers, merged into the one table in registerCommands.ts. */
import type { Services } from '../services';
import {
  addRegistryCommand,
  copyDigestCommand,
  copyReferenceCommand,
  deleteTagCommand,
  filterTagsCommand,
  loadMoreCommand,
  pullTagCommand,
  refreshCommand,
  removeRegistryCommand,
  showManifestCommand,
  signInCommand,
} from './commands';
import { promoteCommand, promoteToNextStageCommand } from './promote';

export const registryCommands: Record<string, (services: Services, ...args: never[]) => unknown> = {
  'wharf.addRegistry': addRegistryCommand,
  'wharf.registryRefresh': refreshCommand,
  'wharf.registryLoadMore': loadMoreCommand,
  'wharf.registryFilterTags': filterTagsCommand,
  'wharf.registrySignIn': signInCommand,
  'wharf.registryRemove': removeRegistryCommand,
  'wharf.registryShowManifest': showManifestCommand,
  'wharf.registryCopyReference': copyReferenceCommand,
  'wharf.registryCopyDigest': copyDigestCommand,
  'wharf.registryPull': pullTagCommand,
  'wharf.registryDeleteTag': deleteTagCommand,
  'wharf.promote': promoteCommand,
  'wharf.promoteToNextStage': promoteToNextStageCommand,
};
