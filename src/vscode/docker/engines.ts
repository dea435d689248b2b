/**
 * The editor's engines: the engine set built from `wharf.showDefaultEngine` and `wharf.engines`,
 * with SSH prompts (an unknown host key is put to the user, modally, with its fingerprint), and the
 * latest listing of each engine cached until the next refresh.
 */
import type Docker from 'dockerode';
import * as vscode from 'vscode';
import { WharfError, isWharfError, messageOf } from '../../engines/core/errors';
import { listContainers, type ContainerSummary } from '../../engines/docker/containers';
import { EngineSet, engineConfigs, type EngineHandle, type EngineSetOptions } from '../../engines/docker/engineSet';
import { imageTags, listImages, type ImageTag } from '../../engines/docker/images';
import type { Services } from '../services';
import { settings } from '../settings';

/** An engine that does not answer within this long is shown as unreachable (it is retried later). */
const LIST_TIMEOUT_MS = 15_000;

export type Listing<T> = { ok: true; items: T[]; address: string } | { ok: false; error: WharfError; address?: string };

export class Engines implements vscode.Disposable {
  readonly set: EngineSet;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the configured engines change. */
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Host keys the user declined: not asked again (the event stream retries) until "Retry". */
  private readonly refusedKeys = new Set<string>();

  /** Kept by reference by the engine set, so a changed ssh config file applies to the next connection. */
  private readonly options: EngineSetOptions;

  constructor(private readonly services: Services) {
    this.options = {
      sshConfigFile: settings.sshConfigFile(),
      log: services.log,
      ssh: {
        acceptUnknownKey: async (host, fingerprint) => {
          if (this.refusedKeys.has(`${host} ${fingerprint}`)) return false;
          const accept = 'Accept and Connect';
          const choice = await vscode.window.showWarningMessage(
            `Wharf: the host ${host} is not in known_hosts. Its key fingerprint is ${fingerprint}. Connect only if this is the key you expect.`,
            { modal: true },
            accept,
          );
          if (choice !== accept) this.refusedKeys.add(`${host} ${fingerprint}`);
          return choice === accept;
        },
      },
    };
    this.set = new EngineSet(this.options);
    this.configure();
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('wharf.ssh.configFile')) {
          this.options.sshConfigFile = settings.sshConfigFile();
          for (const handle of this.set.engines) this.set.reconnect(handle.id);
        }
        if (event.affectsConfiguration('wharf.engines') || event.affectsConfiguration('wharf.showDefaultEngine') || event.affectsConfiguration('wharf.ssh.configFile')) {
          this.configure();
          this.changed.fire();
        }
      }),
    );
  }

  private configure(): void {
    this.set.configure(engineConfigs(settings.showDefaultEngine(), settings.engines()));
  }

  get list(): readonly EngineHandle[] {
    return this.set.engines;
  }

  get(id: string): EngineHandle | undefined {
    return this.set.get(id);
  }

  /** The client of an engine, or a clear error when it was removed from the settings meanwhile. */
  async docker(engineId: string): Promise<Docker> {
    const handle = this.get(engineId);
    if (!handle) throw new WharfError({ code: 'not-found', object: `engine ${engineId}`, cause: 'it is no longer configured', remedy: 'Refresh the view' });
    return handle.docker();
  }

  /** Drops the engine's connection so the next listing reconnects (the "Retry" action). */
  reset(engineId: string): void {
    this.refusedKeys.clear();
    this.set.reconnect(engineId);
  }

  async images(handle: EngineHandle): Promise<Listing<ImageTag>> {
    return this.load(handle, async (docker, object, signal) => imageTags(await listImages(docker, object, signal)));
  }

  async containers(handle: EngineHandle): Promise<Listing<ContainerSummary>> {
    return this.load(handle, (docker, object, signal) => listContainers(docker, object, signal));
  }

  private async load<T>(handle: EngineHandle, list: (docker: Docker, object: string, signal: AbortSignal) => Promise<T[]>): Promise<Listing<T>> {
    let address: string | undefined;
    const object = `engine ${handle.config.name}`;
    try {
      const { docker, endpoint } = await handle.connect();
      address = endpoint.label;
      const signal = AbortSignal.timeout(LIST_TIMEOUT_MS);
      try {
        return { ok: true, items: await list(docker, `${object} (${address})`, signal), address };
      } catch (error) {
        if (signal.aborted) {
          throw new WharfError({ code: 'unreachable', object: `${object} (${address})`, cause: `no answer within ${LIST_TIMEOUT_MS / 1000} s`, remedy: 'Check that the engine runs and the network reaches it', inner: error });
        }
        throw error;
      }
    } catch (error) {
      const wharfError = isWharfError(error) ? error : new WharfError({ code: 'failed', object, cause: messageOf(error), inner: error });
      this.services.log.warn(wharfError.message);
      return { ok: false, error: wharfError, address };
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
    this.set.dispose();
  }
}
