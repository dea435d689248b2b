/** Images → right-click → Send to Host…: docker save | ssh host docker load, only the layers it lacks. */
import * as vscode from 'vscode';
import { formatBytes } from '../../engines/transfer/pump';
import { sendImage, type SendResult } from '../../engines/transfer/send';
import type { ImageNode, RepositoryNode } from '../docker/nodes';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { requireTrust } from '../trust';
import { openEditorHost } from './sshPrompts';
import { localEngine, pickHost } from './targets';

/** Arguments that skip prompts: `executeCommand('wharf.sendToHost', nodeOrArgs, { host })`. */
export interface SendToHostArgs {
  image?: string;
  host?: string;
  /** The local engine's URL; else the node's engine or the first configured one. */
  engineHost?: string;
  compress?: boolean;
  full?: boolean;
  sshConfigFile?: string;
}

export async function sendToHost(services: Services, target?: ImageNode | SendToHostArgs, extra?: SendToHostArgs): Promise<SendResult | undefined> {
  if (!requireTrust('Send to host')) return undefined;
  const node = target && 'type' in target && target.type === 'image' ? target : undefined;
  // The menu's `viewItem =~ /^wharf\.image/` also matches a repository node: take its first tag.
  const repository = target && 'type' in target && (target as unknown as RepositoryNode).type === 'repository' ? (target as unknown as RepositoryNode) : undefined;
  const args: SendToHostArgs = { ...(node || repository ? {} : (target as SendToHostArgs | undefined)), ...extra };
  const image =
    node?.image.reference ??
    repository?.tags[0]?.reference ??
    args.image ??
    (await vscode.window.showInputBox({ title: 'Send to Host', prompt: 'Image reference or id on the engine', ignoreFocusOut: true }));
  if (!image) return undefined;
  const host = await pickHost(`Send ${image} to…`, args.host);
  if (!host) return undefined;
  const engine = await localEngine(services, node?.engineId ?? repository?.parent.engineId, args.engineHost);
  try {
    const opened = await openEditorHost(services, host, args.sshConfigFile);
    try {
      const result = await withEditorProgress(`Wharf: sending ${image} to ${host}`, ({ signal, progress }) =>
        sendImage({ docker: engine.docker, ssh: opened.client, host, image, compress: args.compress, full: args.full, signal, progress, log: services.log }),
      );
      const summary = result.alreadyPresent
        ? `${host} already had ${image}; nothing was sent`
        : `sent ${image} to ${host}: ${formatBytes(result.wireBytes)} on the wire, ${result.layersSkipped} of ${result.layers} layers already there`;
      services.log.info(`wharf.sendToHost: ${summary} (${result.imageId}, ${result.seconds.toFixed(1)} s)`);
      void vscode.window.showInformationMessage(`Wharf: ${summary}.`);
      return result;
    } finally {
      opened.close();
    }
  } finally {
    engine.release();
  }
}
