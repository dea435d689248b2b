/** Build on commit and the package cache: command ids → handlers, merged into registerCommands. */
import { buildForHead, showBuildLog } from './buildForHead';
import { cacheStats, startCache, stopCache } from './packageCache';

export const buildCommands = {
  'wharf.buildForHead': buildForHead,
  'wharf.showBuildLog': showBuildLog,
  'wharf.packageCache.start': startCache,
  'wharf.packageCache.stop': stopCache,
  'wharf.packageCache.stats': cacheStats,
};
