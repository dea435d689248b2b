/** "Check Connections": the doctor engine over the configured parts, with a summary. */
import * as vscode from 'vscode';
import { runDoctor, type CheckResult, type DoctorTargets } from '../../engines/doctor/doctor';
import { parseEndpoints } from '../../engines/etcd/connection';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { settings } from '../settings';

export async function checkConnections(services: Services, options?: { quiet?: boolean }): Promise<CheckResult[]> {
  const targets: DoctorTargets = {
    engines: [
      ...(settings.showDefaultEngine() ? [{}] : []),
      ...settings.engines().map((engine) => ({ host: engine.host, context: engine.context })),
    ],
    registries: settings.registries().map((registry) => registry.address),
    // Clusters with auth are checked by the etcd view, which holds their secrets.
    clusters: settings
      .etcdClusters()
      .filter((cluster) => !cluster.username)
      .map((cluster) => ({ ...cluster, endpoints: parseEndpoints(cluster.endpoints.join(',')) })),
    sshHosts: settings.sshHosts().map((spec) => ({ spec, configFile: settings.sshConfigFile() })),
    sshConfigFile: settings.sshConfigFile(),
  };
  const results = await withEditorProgress('Wharf: checking connections', () => runDoctor(targets));
  for (const result of results) {
    const line = `${result.part} ${result.target}: ${result.detail}`;
    if (result.ok) services.log.info(line);
    else services.log.warn(line);
  }
  const failed = results.filter((result) => !result.ok);
  if (!options?.quiet) {
    const summary = failed.length
      ? `${failed.length} of ${results.length} connections failed: ${failed.map((result) => `${result.part} ${result.target}`).join(', ')}`
      : `All ${results.length} connections answer.`;
    const show = failed.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(`Wharf: ${summary}`, 'Show Log').then((choice) => {
      if (choice) services.log.show();
    });
  }
  return results;
}
