/**
 * The Docker explorer service: engines, the Images and Containers trees, the refresh manager, and
 * one event stream per engine while a view is visible. Built on first use and owned by Services.
 */
import * as vscode from 'vscode';
import { watchEvents, type EventWatch } from '../../engines/docker/events';
import type { Services } from '../services';
import { ContainersTree } from './containersTree';
import { Engines } from './engines';
import { ImagesTree } from './imagesTree';
import { INSPECT_SCHEME, InspectDocuments } from './inspectDocuments';
import { RefreshManager } from './refreshManager';

export class DockerExplorer implements vscode.Disposable {
  readonly engines: Engines;
  readonly images: ImagesTree;
  readonly containers: ContainersTree;
  readonly refresh = new RefreshManager();
  readonly inspect: InspectDocuments;
  private watches: EventWatch[] = [];
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly services: Services) {
    this.engines = new Engines(services);
    this.images = new ImagesTree(this.engines);
    this.containers = new ContainersTree(this.engines);
    this.inspect = new InspectDocuments(this.engines);
    this.refresh.add('images', { tree: this.images });
    this.refresh.add('containers', { tree: this.containers });
    this.subscriptions.push(
      vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, this.inspect),
      this.engines.onDidChange(() => {
        this.refresh.refreshAll('config');
        this.restartWatches();
      }),
      this.refresh.onDidChangeAnyVisible((visible) => (visible ? this.restartWatches() : this.stopWatches())),
    );
  }

  /** Connects the trees to their views, so refreshes follow visibility. */
  attachViews(views: { images?: vscode.TreeView<unknown>; containers?: vscode.TreeView<unknown> }): void {
    if (views.images) this.refresh.attachView('images', views.images);
    if (views.containers) this.refresh.attachView('containers', views.containers);
    if (this.refresh.anyVisible) this.restartWatches();
  }

  /** One reconnecting event stream per engine; each burst refreshes only the kind that changed. */
  restartWatches(): void {
    this.stopWatches();
    this.watches = this.engines.list.map((handle) =>
      watchEvents(() => handle.docker(), {
        log: this.services.log,
        onChange: (kinds) => {
          if (kinds.has('image')) this.refresh.refresh('images', 'event');
          if (kinds.has('container')) this.refresh.refresh('containers', 'event');
        },
      }),
    );
  }

  private stopWatches(): void {
    for (const watch of this.watches) watch.dispose();
    this.watches = [];
  }

  dispose(): void {
    this.stopWatches();
    for (const subscription of this.subscriptions) subscription.dispose();
    this.refresh.dispose();
    this.images.dispose();
    this.containers.dispose();
    this.inspect.dispose();
    this.engines.dispose();
  }
}

const explorers = new WeakMap<Services, DockerExplorer>();

export function dockerExplorer(services: Services): DockerExplorer {
  let explorer = explorers.get(services);
  if (!explorer) {
    explorer = services.track(new DockerExplorer(services));
    explorers.set(services, explorer);
  }
  return explorer;
}
