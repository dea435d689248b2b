/** `wharf cache up|down|stats`: the package cache (apt-cacher-ng) that `wharf build` uses on its own. */
import { bridgeGateway, buildProxyUrl, defaultCacheDir, packageCacheState, readCacheStats, startPackageCache, stopPackageCache } from '../../engines/builds/packageCache';
import { messageOf } from '../../engines/core/errors';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';

export const cache: CliCommand = {
  name: 'cache',
  summary: 'a package cache for builds: up (start), down (stop), stats (hit rate, bytes saved)',
  usage: 'wharf cache up|down|stats [--dir DIR] [--port N] [--bind ADDR,...] [--host URL | --context-name NAME] [--json]',
  valueFlags: ['dir', 'port', 'bind', 'host', 'context-name'],
  async run(args: ParsedArgs) {
    const [verb, ...extra] = args.positionals;
    if (extra.length || !['up', 'down', 'stats'].includes(verb ?? '')) throw new UsageError('give one of up, down, stats');
    const dir = stringFlag(args, 'dir') ?? defaultCacheDir();
    const json = args.flags.has('json');
    if (verb === 'down') {
      const stopped = await stopPackageCache(dir);
      if (json) printJson({ stopped, dir });
      else process.stdout.write(stopped ? `package cache in ${dir} stopped (its files stay for the next start)\n` : `no package cache runs in ${dir}\n`);
      return 0;
    }
    if (verb === 'stats') {
      const [state, stats] = await Promise.all([packageCacheState(dir), readCacheStats(dir)]);
      if (json) printJson({ running: Boolean(state), dir, port: state?.port, ...stats });
      else {
        printTable([{ running: state ? `yes (port ${state.port})` : 'no', requests: stats.requests, hits: stats.hits, 'hit rate': `${(stats.hitRate * 100).toFixed(1)}%`, fetched: stats.bytesFetched, served: stats.bytesServed, saved: stats.bytesSaved }], ['running', 'requests', 'hits', 'hit rate', 'fetched', 'served', 'saved']);
      }
      return 0;
    }
    const portText = stringFlag(args, 'port');
    const port = portText === undefined ? undefined : Number(portText);
    if (port !== undefined && !Number.isInteger(port)) throw new UsageError('--port needs a number');
    const bind = (stringFlag(args, 'bind') ?? '').split(',').map((address) => address.trim()).filter(Boolean);
    // Build containers reach the host through the engine's bridge gateway: listen there too.
    const endpoint = await resolveEndpoint({ host: stringFlag(args, 'host'), context: stringFlag(args, 'context-name') });
    const docker = await connectEngine(endpoint);
    try {
      let gateway: string | undefined;
      if (endpoint.kind === 'unix') gateway = await bridgeGateway(docker).catch(() => undefined);
      else process.stderr.write(`wharf cache: ${endpoint.label} is not a local engine: the cache listens on this machine only; pass --bind with an address its builds can reach\n`);
      const state = await startPackageCache({ dir, port, bind: [...bind, ...(gateway ? [gateway] : [])] });
      const url = await buildProxyUrl(docker, state).catch((error) => {
        process.stderr.write(`wharf cache: ${messageOf(error)}\n`);
        return `http://127.0.0.1:${state.port}`;
      });
      if (json) printJson({ ...state, buildProxy: url });
      else {
        process.stdout.write(`package cache ${state.reused ? 'already running' : 'started'}: apt-cacher-ng pid ${state.pid} on ${state.bind.map((address) => `${address}:${state.port}`).join(', ')}, folder ${dir}\n`);
        process.stdout.write(`wharf build uses it on its own; other builds: docker build --build-arg http_proxy=${url} ...\n`);
      }
      return 0;
    } finally {
      closeEngine(docker);
    }
  },
};
