/** `wharf.buildForHead`: build, tag, test and push the image for the workspace's HEAD. */
import * as vscode from 'vscode';
import type { BuildOnCommitResult } from '../../engines/builds/buildOnCommit';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { buildsFeature, type BuildRequest } from './feature';

export async function buildForHead(services: Services, request?: BuildRequest): Promise<BuildOnCommitResult | undefined> {
  if (!requireTrust('Building an image')) return undefined;
  const feature = buildsFeature(services);
  // A Uri (from the Explorer's context menu) or nothing (the palette): build that folder / the first.
  const args: BuildRequest = request instanceof vscode.Uri ? { folder: request.fsPath } : (request ?? {});
  const result = await withEditorProgress('Wharf: building the image for HEAD', (work) => feature.build(args, work));
  if (result && !args.folder && result.outcome !== 'passed') {
    const choice = await vscode.window.showWarningMessage(`Wharf: the build for ${result.shortSha} ${result.outcome === 'test-failed' ? 'failed its test: nothing was pushed' : `failed${result.buildError?.line ? ` at line ${result.buildError.line}` : ''}`}.`, 'Show Log');
    if (choice) feature.output.show(true);
  }
  return result;
}

export function showBuildLog(services: Services): void {
  buildsFeature(services).output.show(true);
}
