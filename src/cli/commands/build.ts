/** `wharf build [DIR]`: build HEAD's image, tag it with the short SHA, test it, push it when the test passed. */
import path from 'node:path';
import { buildOnCommit } from '../../engines/builds/buildOnCommit';
import { splitCommand } from '../../engines/builds/naming';
import { buildProxyUrl, defaultCacheDir, packageCacheState } from '../../engines/builds/packageCache';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { resolveEndpoint } from '../../engines/docker/endpoint';
import { BuildRecordStore } from '../../engines/layers/records';
import { dockerConfigCredentials } from '../../engines/registry/credentials';
import { stringFlag, UsageError, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable, stderrProgress } from '../output';

export const build: CliCommand = {
  name: 'build',
  summary: 'build the image for HEAD, tag it with the short SHA (and branch), test it, push it to the first pipeline stage',
  usage:
    'wharf build [DIR] [--push [--registry HOST:PORT]] [--test CMD] [--tag-latest] [--no-branch-tag] [--dockerfile F] [--context DIR] [--repository NAME] [--cache URL | --no-package-cache] [--cache-dir DIR] [--no-cache] [--host URL | --context-name NAME] [--records DIR] [--json]',
  valueFlags: ['test', 'dockerfile', 'context', 'repository', 'registry', 'cache', 'cache-dir', 'host', 'context-name', 'records'],
  async run(args: ParsedArgs) {
    if (args.positionals.length > 1) throw new UsageError('give at most one folder (default: the current one)');
    if (args.flags.has('registry') && !args.flags.has('push')) throw new UsageError('--registry needs --push');
    if (args.flags.has('cache') && args.flags.has('no-package-cache')) throw new UsageError('--cache and --no-package-cache exclude each other');
    const testLine = stringFlag(args, 'test');
    const test = testLine === undefined ? undefined : splitCommand(testLine);
    if (test && !test.length) throw new UsageError('--test needs a command');
    const workspace = path.resolve(args.positionals[0] ?? '.');
    const json = args.flags.has('json');

    const endpoint = await resolveEndpoint({ host: stringFlag(args, 'host'), context: stringFlag(args, 'context-name') });
    const docker = await connectEngine(endpoint);
    try {
      // A package cache started with `wharf cache up` is used on its own; --cache names another one.
      let cacheProxy = stringFlag(args, 'cache');
      if (!cacheProxy && !args.flags.has('no-package-cache')) {
        const state = await packageCacheState(stringFlag(args, 'cache-dir') ?? defaultCacheDir());
        if (state) cacheProxy = await buildProxyUrl(docker, state);
      }
      const result = await buildOnCommit({
        docker,
        engine: endpoint.label,
        workspace,
        dockerfile: stringFlag(args, 'dockerfile'),
        context: stringFlag(args, 'context'),
        repository: stringFlag(args, 'repository'),
        tagBranch: !args.flags.has('no-branch-tag'),
        tagLatest: args.flags.has('tag-latest'),
        test,
        push: args.flags.has('push'),
        registry: stringFlag(args, 'registry'),
        credentials: dockerConfigCredentials(),
        cacheProxy,
        noCache: args.flags.has('no-cache'),
        store: new BuildRecordStore(stringFlag(args, 'records')),
        progress: stderrProgress(),
        // The build's own output goes to stderr, so stdout stays the summary (or JSON) for scripts.
        onLine: (line) => process.stderr.write(`${line}\n`),
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (json) {
        const { record: _record, ...summary } = result;
        printJson(summary);
      } else {
        printTable(
          [{ sha: result.shortSha, outcome: result.outcome, tags: result.tags.join(' '), test: result.test, pushed: result.pushed.length ? result.pushed.join(' ') : '-' }],
          ['sha', 'outcome', 'tags', 'test', 'pushed'],
        );
        if (result.buildError) process.stderr.write(`wharf build: ${result.dockerfile}${result.buildError.line ? `:${result.buildError.line}` : ''}: ${result.buildError.message}\n`);
      }
      return result.outcome === 'passed' ? 0 : 1;
    } finally {
      closeEngine(docker);
    }
  },
};
