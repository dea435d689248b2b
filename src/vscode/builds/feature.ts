/**
 * Builds in the editor: one build at a time (a commit made while one runs queues the newest HEAD),
 * a status-bar item (building / passed / failed; a click shows the log), the build log channel,
 * and the opt-in commit trigger (`wharf.builds.onCommit`), which watches each workspace folder's
 * reflog. Created once per activation.
 */
import * as vscode from 'vscode';
import { buildOnCommit, type BuildOnCommitResult } from '../../engines/builds/buildOnCommit';
import { watchCommits, type CommitWatcher } from '../../engines/builds/commit';
import { splitCommand } from '../../engines/builds/naming';
import { buildProxyUrl, packageCacheState } from '../../engines/builds/packageCache';
import { WharfError, messageOf } from '../../engines/core/errors';
import type { ProgressSink } from '../../engines/core/progress';
import { loadPipeline, parsePipeline, type Pipeline } from '../../engines/promote/stages';
import { dockerExplorer } from '../docker/explorer';
import { chooseEngine } from '../layers/engine';
import { recordStore } from '../layers/store';
import { editorCredentials } from '../registries/credentials';
import { registriesTree } from '../registries/feature';
import type { Services } from '../services';
import { settings } from '../settings';

/** What `wharf.buildForHead` accepts (all optional; the settings fill in the rest). */
export interface BuildRequest {
  /** A folder inside the repository (default: the first workspace folder). */
  folder?: string;
  dockerfile?: string;
  repository?: string;
  /** A command line ("sh -c '...'") or argv. */
  test?: string | string[];
  push?: boolean;
  tagLatest?: boolean;
  noCache?: boolean;
  /** An engine id from the Images tree ("default", "engine:<name>"). */
  engineId?: string;
}

const section = () => vscode.workspace.getConfiguration('wharf.builds');

export const buildSettings = {
  onCommit: () => section().get<boolean>('onCommit', false),
  test: () => section().get<string>('test', '') || undefined,
  push: () => section().get<boolean>('push', true),
  tagLatest: () => section().get<boolean>('tagLatest', false),
  dockerfile: () => section().get<string>('dockerfile', '') || undefined,
};

export function packageCacheDir(services: Services): string {
  return vscode.Uri.joinPath(services.context.globalStorageUri, 'package-cache').fsPath;
}

export class BuildsFeature implements vscode.Disposable {
  readonly output = vscode.window.createOutputChannel('Wharf Commit Builds');
  readonly status = vscode.window.createStatusBarItem('wharf.builds', vscode.StatusBarAlignment.Left, 10);
  last?: BuildOnCommitResult;
  private running?: Promise<BuildOnCommitResult | undefined>;
  private queued?: { folder: string };
  private watchers: CommitWatcher[] = [];
  private readonly controller = new AbortController();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly services: Services) {
    this.status.name = 'Wharf Builds';
    this.status.command = 'wharf.showBuildLog';
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('wharf.builds.onCommit')) void this.updateWatchers();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.updateWatchers()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.updateWatchers()),
    );
    void this.updateWatchers();
  }

  /** Watches every workspace folder's reflog while the setting is on (and the workspace trusted). */
  private async updateWatchers(): Promise<void> {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    if (!buildSettings.onCommit() || !vscode.workspace.isTrusted) return;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      try {
        const watcher = await watchCommits(folder.uri.fsPath, (entry) => {
          this.services.log.info(`builds: commit ${entry.newSha.slice(0, 12)} (${entry.message}) in ${folder.name}`);
          void this.enqueue(folder.uri.fsPath);
        }, { onError: (error) => this.services.log.warn(`builds: watching ${folder.name}: ${messageOf(error)}`) });
        this.watchers.push(watcher);
      } catch (error) {
        // Not a repository: nothing to watch there.
        this.services.log.info(`builds: not watching ${folder.name}: ${messageOf(error)}`);
      }
    }
  }

  /** A commit-triggered build: runs now, or after the current one (only the newest waits). */
  private async enqueue(folder: string): Promise<void> {
    if (this.running) {
      this.queued = { folder };
      return;
    }
    try {
      const result = await this.build({ folder }, { signal: this.controller.signal });
      if (result && result.outcome !== 'passed') {
        const choice = await vscode.window.showWarningMessage(`Wharf: the build for ${result.shortSha} ${result.outcome === 'test-failed' ? 'failed its test' : 'failed'}.`, 'Show Log');
        if (choice) this.output.show(true);
      }
    } catch (error) {
      this.services.log.error(`builds: ${messageOf(error)}`);
    } finally {
      const next = this.queued;
      this.queued = undefined;
      if (next) void this.enqueue(next.folder);
    }
  }

  /** Builds HEAD of a folder; one at a time (a second request while one runs is refused). */
  async build(request: BuildRequest, work: { signal?: AbortSignal; progress?: ProgressSink } = {}): Promise<BuildOnCommitResult | undefined> {
    if (this.running) throw new WharfError({ code: 'conflict', object: 'build', cause: 'another build is running', remedy: 'Wait for it (the status bar shows it), then try again' });
    const run = this.run(request, work);
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = undefined;
    }
  }

  private async run(request: BuildRequest, work: { signal?: AbortSignal; progress?: ProgressSink }): Promise<BuildOnCommitResult> {
    const folder = request.folder ?? vscode.workspace.workspaceFolders?.find((candidate) => candidate.uri.scheme === 'file')?.uri.fsPath;
    if (!folder) throw new WharfError({ code: 'bad-input', object: 'workspace', cause: 'has no folder', remedy: 'Open the repository folder' });
    const testLine = request.test ?? buildSettings.test();
    const test = typeof testLine === 'string' ? splitCommand(testLine) : testLine;
    const engine = await chooseEngine(request.engineId);
    this.output.clear();
    this.setStatus('$(sync~spin) Building', `Wharf: building ${folder}`);
    try {
      // Push only where a pipeline says so: the workspace file, else the setting.
      const pipeline = await this.pipeline(folder);
      const push = (request.push ?? buildSettings.push()) && Boolean(pipeline);
      const cache = await packageCacheState(packageCacheDir(this.services));
      const result = await buildOnCommit({
        docker: engine.docker,
        engine: engine.label,
        workspace: folder,
        dockerfile: request.dockerfile ?? buildSettings.dockerfile(),
        repository: request.repository,
        test: test?.length ? test : undefined,
        push,
        pipeline,
        tagLatest: request.tagLatest ?? buildSettings.tagLatest(),
        noCache: request.noCache,
        credentials: editorCredentials(this.services.secrets),
        cacheProxy: cache ? await buildProxyUrl(engine.docker, cache) : undefined,
        store: recordStore(this.services),
        signal: work.signal,
        progress: work.progress,
        log: this.services.log,
        onLine: (line) => this.output.appendLine(line),
      });
      this.last = result;
      const passed = result.outcome === 'passed';
      this.setStatus(
        `${passed ? '$(pass)' : '$(error)'} ${result.shortSha} ${passed ? 'passed' : result.outcome === 'test-failed' ? 'test failed' : 'build failed'}`,
        `Wharf: ${result.tags.join(', ')}\n${result.buildError ? `${result.buildError.line ? `line ${result.buildError.line}: ` : ''}${result.buildError.message}\n` : ''}test: ${result.test}\npushed: ${result.pushed.length ? result.pushed.join(', ') : 'no'}${result.warnings.length ? `\n${result.warnings.join('\n')}` : ''}\nClick for the log`,
      );
      if (!passed) this.status.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.services.log.info(`builds: ${result.shortSha} ${result.outcome}; tags ${result.tags.join(', ')}; pushed ${result.pushed.join(', ') || 'nothing'}`);
      dockerExplorer(this.services).refresh.refresh('images', 'command');
      if (result.pushed.length && result.registry) registriesTree(this.services).refreshRegistry(result.registry);
      return result;
    } catch (error) {
      this.output.appendLine(messageOf(error));
      this.setStatus('$(error) Build failed', `Wharf: ${messageOf(error)}\nClick for the log`);
      this.status.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      throw error;
    } finally {
      engine.close();
    }
  }

  private async pipeline(folder: string): Promise<Pipeline | undefined> {
    const fromFile = await loadPipeline(folder);
    if (fromFile) return fromFile;
    const setting = settings.pipeline();
    return setting?.stages?.length ? parsePipeline(setting, 'setting wharf.pipeline') : undefined;
  }

  private setStatus(text: string, tooltip: string): void {
    this.status.text = text;
    this.status.tooltip = tooltip;
    this.status.backgroundColor = undefined;
    this.status.show();
  }

  dispose(): void {
    this.controller.abort();
    for (const watcher of this.watchers.splice(0)) watcher.close();
    for (const subscription of this.subscriptions) subscription.dispose();
    this.status.dispose();
    this.output.dispose();
  }
}

const features = new WeakMap<Services, BuildsFeature>();

export function buildsFeature(services: Services): BuildsFeature {
  let feature = features.get(services);
  if (!feature) {
    feature = services.track(new BuildsFeature(services));
    features.set(services, feature);
  }
  return feature;
}
