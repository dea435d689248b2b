/** `wharf.packageCache.start/stop/stats`: the package cache (apt-cacher-ng) builds use on their own. */
import * as vscode from 'vscode';
import { bridgeGateway, packageCacheState, readCacheStats, startPackageCache, stopPackageCache, type CacheStats, type PackageCacheState } from '../../engines/builds/packageCache';
import { chooseEngine } from '../layers/engine';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { packageCacheDir } from './feature';

const kb = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`);

export async function startCache(services: Services, options?: { port?: number; engineId?: string }): Promise<PackageCacheState | undefined> {
  if (!requireTrust('Starting the package cache')) return undefined;
  // Build containers reach the host through the engine's bridge gateway: listen there too.
  const engine = await chooseEngine(options?.engineId);
  let gateway: string | undefined;
  try {
    gateway = await bridgeGateway(engine.docker);
  } finally {
    engine.close();
  }
  const state = await startPackageCache({ dir: packageCacheDir(services), port: options?.port, bind: gateway ? [gateway] : [], log: services.log });
  void vscode.window.showInformationMessage(`Wharf: package cache ${state.reused ? 'already running' : 'started'} on port ${state.port}. Builds from Wharf use it for package downloads.`);
  return state;
}

export async function stopCache(services: Services): Promise<boolean | undefined> {
  if (!requireTrust('Stopping the package cache')) return undefined;
  const stopped = await stopPackageCache(packageCacheDir(services));
  void vscode.window.showInformationMessage(stopped ? 'Wharf: package cache stopped (its files stay for the next start).' : 'Wharf: no package cache was running.');
  return stopped;
}

export async function cacheStats(services: Services): Promise<(CacheStats & { running: boolean }) | undefined> {
  if (!requireTrust('Reading the package cache')) return undefined;
  const dir = packageCacheDir(services);
  const [state, stats] = await Promise.all([packageCacheState(dir), readCacheStats(dir)]);
  const text = `Package cache ${state ? `running on port ${state.port}` : 'stopped'}: ${stats.requests} requests, ${stats.hits} hits (${(stats.hitRate * 100).toFixed(1)}%), ${kb(stats.bytesSaved)} saved, ${kb(stats.bytesFetched)} fetched from mirrors.`;
  services.log.info(text);
  void vscode.window.showInformationMessage(`Wharf: ${text}`);
  return { ...stats, running: Boolean(state) };
}
