/**
 * `wharf.buildImage` (Build with Wharf): the classic builder through the engine API, its output
 * streamed to the "Wharf Build" channel, cancellable; afterwards the CodeLens shows each step's
 * outcome and a failed build is marked at its failing instruction.
 */
import * as vscode from 'vscode';
import { buildDockerfile } from '../../engines/layers/build';
import type { BuildRecord } from '../../engines/layers/records';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { chooseEngine } from './engine';
import { layersFeature } from './feature';

export interface BuildImageArgs {
  /** Image tag; with args given, no prompt is shown (tests, tasks, keybindings). */
  tag?: string;
  noCache?: boolean;
  context?: string;
  engineId?: string;
}

export async function buildImage(services: Services, target?: vscode.Uri, args?: BuildImageArgs): Promise<BuildRecord | undefined> {
  if (!requireTrust('Building an image')) return undefined;
  const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('Wharf: open a Dockerfile (or pick one in the Explorer) to build it.');
    return undefined;
  }
  let tag = args?.tag;
  if (!args) {
    tag = await vscode.window.showInputBox({ title: 'Build with Wharf', prompt: 'Tag for the image (empty for none)', placeHolder: 'app:dev' });
    if (tag === undefined) return undefined;
  }
  const document = vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === uri.toString());
  if (document?.isDirty) await document.save();

  const feature = layersFeature(services);
  const output = feature.output;
  output.clear();
  output.show(true);
  const engine = await chooseEngine(args?.engineId);
  output.appendLine(`Building ${uri.fsPath} on ${engine.label}${tag ? ` as ${tag}` : ''}${args?.noCache ? ' (--no-cache)' : ''}`);
  try {
    const { record } = await withEditorProgress(`Building ${vscode.workspace.asRelativePath(uri)}`, ({ signal, progress }) =>
      buildDockerfile(engine.docker, {
        dockerfile: uri.fsPath,
        context: args?.context,
        tag: tag || undefined,
        noCache: args?.noCache,
        store: feature.store,
        engine: engine.label,
        signal,
        progress,
        log: services.log,
        onEvent: (event) => {
          if (event.type === 'step') output.appendLine(`Step ${event.step}/${event.total} : ${event.text}`);
          else if (event.type === 'cache') output.appendLine(' ---> Using cache');
          else if (event.type === 'running') output.appendLine(` ---> Running in ${event.container}`);
          else if (event.type === 'image') output.appendLine(` ---> ${event.id}`);
          else if (event.type === 'output') output.appendLine(event.text);
          else if (event.type === 'error') output.appendLine(`ERROR: ${event.message}`);
        },
      }),
    );
    feature.diagnostics.showBuild(uri, record);
    feature.codeLens.refresh();
    const hits = record.steps.filter((step) => step.cache === 'hit').length;
    const misses = record.steps.filter((step) => step.cache === 'miss' || step.cache === 'failed').length;
    const summary = `${hits} cached, ${misses} rebuilt`;
    output.appendLine(`Build ${record.status}: ${summary}${record.firstMiss ? `; first miss at line ${record.firstMiss.line + 1}: ${record.firstMiss.cause.message}` : ''}`);
    if (record.status === 'failed') {
      void vscode.window.showErrorMessage(`Wharf: the build failed at line ${(record.error?.line ?? -1) + 1}: ${record.error?.message ?? ''}`);
    } else if (record.status === 'succeeded' && !args) {
      void vscode.window.showInformationMessage(`Wharf: built ${tag || record.imageId?.slice(7, 19)} (${summary}).`, 'Show Layer Cache').then((choice) => {
        if (choice) void vscode.commands.executeCommand('wharf.showLayers', uri);
      });
    }
    return record;
  } finally {
    engine.close();
  }
}
