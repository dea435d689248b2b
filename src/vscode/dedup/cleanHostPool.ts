/**
 * Wharf: Clean Host Pool (dedup)…: frees space in a host's dedup pool (the engine's gcHostPool),
 * keeping the newest N versions of each repository, after a modal confirmation. Images already
 * loaded in the host's engine are not touched. Arguments skip the prompts (tests, other commands).
 */
import * as vscode from 'vscode';
import { gcHostPool } from '../../engines/dedup/hostGc';
import type { HostGcResult } from '../../engines/dedup/remote';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { settings } from '../settings';
import { sshPrompts } from '../transfer/sshPrompts';
import { requireTrust } from '../trust';
import { candidateHosts } from './hosts';
import { poolPath } from './syncToHost';

export interface CleanHostPoolArgs {
  host?: string;
  /** Versions of each repository to keep; asked for when neither this nor `remove` is given. */
  keep?: number;
  /** Images (tag or id) whose plans to drop. */
  remove?: string[];
  poolPath?: string;
  remotePool?: string;
  sshConfigFile?: string;
  /** Skip the confirmation (tests). */
  confirmed?: boolean;
}

export async function cleanHostPool(services: Services, args: CleanHostPoolArgs = {}): Promise<HostGcResult | undefined> {
  if (!requireTrust('Clean a host pool')) return undefined;
  const sshConfigFile = args.sshConfigFile ?? settings.sshConfigFile();
  let host = args.host;
  if (!host) {
    const hosts = await candidateHosts(settings.sshHosts(), sshConfigFile);
    host = await vscode.window.showQuickPick(hosts, { title: 'Clean the dedup pool on…', placeHolder: 'an SSH host (alias or ssh://user@host:port)', ignoreFocusOut: true });
    if (!host) return undefined;
  }
  let keep = args.keep;
  if (keep === undefined && !args.remove?.length) {
    const text = await vscode.window.showInputBox({
      title: `Clean the dedup pool on ${host}`,
      prompt: 'Keep how many versions of each repository? Older ones must be sent again to roll back to them.',
      value: '2',
      validateInput: (value) => (/^\d+$/.test(value.trim()) ? undefined : 'Give a whole number (0 keeps none)'),
      ignoreFocusOut: true,
    });
    if (text === undefined) return undefined;
    keep = Number(text.trim());
  }
  if (!args.confirmed) {
    const what = [args.remove?.length ? `the plans of ${args.remove.join(', ')}` : '', keep !== undefined ? `versions beyond the newest ${keep} of each repository` : ''].filter(Boolean).join(' and ');
    const clean = 'Clean';
    const choice = await vscode.window.showWarningMessage(`Free space in the dedup pool on ${host}?`, { modal: true, detail: `Drops ${what}, then deletes every segment no remaining image needs. Images loaded in the host's engine are not touched; a dropped version is sent again when synced.` }, clean);
    if (choice !== clean) return undefined;
  }
  const target = host;
  const result = await withEditorProgress(`Wharf: cleaning the dedup pool on ${target}`, ({ signal, progress }) =>
    gcHostPool({ poolDir: args.poolPath ?? poolPath(services), host: target, sshConfigFile, remote: args.remotePool ? { dir: args.remotePool } : undefined, remove: args.remove, keep, signal, progress, log: services.log, ssh: sshPrompts(services, target) }),
  );
  const summary = `${target}: dropped ${result.plansDropped.length} image version${result.plansDropped.length === 1 ? '' : 's'}, freed ${result.segmentsFreed} segment${result.segmentsFreed === 1 ? '' : 's'}; ${result.plansKept.length} kept`;
  services.log.info(`dedup: cleaned the pool on ${summary}`);
  void vscode.window.showInformationMessage(`Wharf: ${summary}.`);
  return result;
}
