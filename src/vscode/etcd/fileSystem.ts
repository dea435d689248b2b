/**
 * etcd keys as files (etcd://<cluster>/<key>), modelled on the fsprovider sample: failures are
 * FileSystemError.*, change events are batched. Reading remembers the key's mod_revision; saving
 * is a compare-and-swap against it, so a save over someone else's change is refused (the editor
 * then shows their value against ours). Binary values are read-only: the bytes can be viewed but
 * never replaced by decoded text.
 */
import * as vscode from 'vscode';
import { isWharfError, messageOf } from '../../engines/core/errors';
import type { EtcdCluster } from '../../engines/etcd/cluster';
import { casPut, deleteKey, deletePrefix, EtcdConflictError, renameKey } from '../../engines/etcd/edit';
import { getKey, listLevel, type KeyEntry } from '../../engines/etcd/keyspace';
import { isBinary } from '../../engines/etcd/values';
import { PrefixWatch } from '../../engines/etcd/watch';
import type { Services } from '../services';
import type { ClusterRegistry } from './clusters';
import { ETCD_SCHEME, keyUri, parseKeyUri } from './uri';

export interface ConflictReport {
  uri: vscode.Uri;
  theirs: KeyEntry | undefined;
  yours: Uint8Array;
  error: EtcdConflictError;
}

export class EtcdFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  /** mod_revision of each key as last read into an editor: what a save compares against. */
  private readonly seen = new Map<string, { modRevision: string; lease: string }>();
  private readonly watches = new Map<string, PrefixWatch>();
  private buffered: vscode.FileChangeEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly conflicts = new vscode.EventEmitter<ConflictReport>();
  readonly onConflict = this.conflicts.event;

  constructor(
    private readonly services: Services,
    private readonly registry: ClusterRegistry,
  ) {}

  private async resolve(uri: vscode.Uri): Promise<{ cluster: EtcdCluster; name: string; key: string }> {
    const { cluster: name, key } = parseKeyUri(uri);
    try {
      return { cluster: await this.registry.cluster(name), name, key };
    } catch (error) {
      throw vscode.FileSystemError.Unavailable(`etcd cluster ${name}: ${messageOf(error)}`);
    }
  }

  private async entry(uri: vscode.Uri): Promise<KeyEntry | undefined> {
    const { cluster, key } = await this.resolve(uri);
    try {
      return (await getKey(cluster, key)).value;
    } catch (error) {
      throw vscode.FileSystemError.Unavailable(messageOf(error));
    }
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const entry = await this.entry(uri);
    if (!entry) {
      // A key's path may also be a "folder": keys under it.
      const { cluster, key } = await this.resolve(uri);
      const folder = key.endsWith('/') ? key : `${key}/`;
      const page = await listLevel(cluster, { prefix: folder, separator: '/', limit: 1 }).catch(() => undefined);
      if (page?.entries.length) return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
      throw vscode.FileSystemError.FileNotFound(uri);
    }
    return {
      type: vscode.FileType.File,
      // Revisions order changes like timestamps do; the editor compares them to spot changes.
      ctime: Number(entry.createRevision),
      mtime: Number(entry.modRevision),
      size: entry.value.length,
      permissions: isBinary(entry.value) ? vscode.FilePermission.Readonly : undefined,
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const entry = await this.entry(uri);
    if (!entry) throw vscode.FileSystemError.FileNotFound(uri);
    this.seen.set(uri.toString(), { modRevision: entry.modRevision, lease: entry.lease });
    return entry.value;
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    const { cluster, key } = await this.resolve(uri);
    const current = await this.entry(uri);
    if (!current && !options.create) throw vscode.FileSystemError.FileNotFound(uri);
    if (current && !options.overwrite) throw vscode.FileSystemError.FileExists(uri);
    if (current && isBinary(current.value)) throw vscode.FileSystemError.NoPermissions(`etcd key ${key} holds a binary value; Wharf does not write text over it`);
    const seen = this.seen.get(uri.toString());
    // What the user saw: the revision read into the editor; '0' for a new key.
    const expected = seen?.modRevision ?? (current ? current.modRevision : '0');
    try {
      const result = await casPut(cluster, key, Buffer.from(content), expected, seen?.lease ?? current?.lease);
      this.seen.set(uri.toString(), { modRevision: result.modRevision, lease: seen?.lease ?? current?.lease ?? '0' });
      this.fire({ type: current ? vscode.FileChangeType.Changed : vscode.FileChangeType.Created, uri });
    } catch (error) {
      if (error instanceof EtcdConflictError) {
        this.services.log.warn(error.message);
        this.conflicts.fire({ uri, theirs: error.theirs, yours: content, error });
        throw new vscode.FileSystemError(error.message);
      }
      if (isWharfError(error)) throw new vscode.FileSystemError(error.message);
      throw error;
    }
  }

  /** After a conflict the user chose to keep theirs or to retry on top of theirs. */
  acceptRevision(uri: vscode.Uri, entry: KeyEntry | undefined): void {
    if (entry) this.seen.set(uri.toString(), { modRevision: entry.modRevision, lease: entry.lease });
    else this.seen.set(uri.toString(), { modRevision: '0', lease: '0' });
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    const { cluster, key } = await this.resolve(uri);
    const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    const page = await listLevel(cluster, { prefix, separator: '/', limit: 1000 });
    return page.entries.map((entry) => [entry.name, entry.kind === 'folder' ? vscode.FileType.Directory : vscode.FileType.File]);
  }

  createDirectory(): void {
    // etcd has no folders: a folder exists while keys under it do.
  }

  async delete(uri: vscode.Uri, options: { recursive: boolean }): Promise<void> {
    const { cluster, key } = await this.resolve(uri);
    const current = await this.entry(uri);
    if (current) await deleteKey(cluster, key, this.seen.get(uri.toString())?.modRevision ?? current.modRevision);
    else if (options.recursive) await deletePrefix(cluster, key.endsWith('/') ? key : `${key}/`);
    else throw vscode.FileSystemError.FileNotFound(uri);
    this.fire({ type: vscode.FileChangeType.Deleted, uri });
  }

  async rename(oldUri: vscode.Uri, newUri: vscode.Uri): Promise<void> {
    const source = await this.resolve(oldUri);
    const target = parseKeyUri(newUri);
    if (target.cluster !== source.name) throw vscode.FileSystemError.NoPermissions('rename across clusters: export and import instead');
    const current = await this.entry(oldUri);
    if (!current) throw vscode.FileSystemError.FileNotFound(oldUri);
    await renameKey(source.cluster, current, target.key);
    this.fire({ type: vscode.FileChangeType.Deleted, uri: oldUri }, { type: vscode.FileChangeType.Created, uri: newUri });
  }

  /** Open documents follow their key: a change elsewhere reloads them (when not dirty). */
  watch(uri: vscode.Uri): vscode.Disposable {
    const id = uri.toString();
    let closed = false;
    void this.resolve(uri)
      .then(({ cluster, name, key }) => {
        if (closed || this.watches.has(id)) return;
        this.watches.set(
          id,
          new PrefixWatch(cluster, {
            prefix: key,
            log: this.services.log,
            onEvents: (events) => {
              for (const event of events.filter((candidate) => candidate.key === key)) {
                this.fire({ type: event.type === 'delete' ? vscode.FileChangeType.Deleted : vscode.FileChangeType.Changed, uri: keyUri(name, key) });
              }
            },
            onResync: async () => {
              const head = await getKey(cluster, key);
              this.fire({ type: vscode.FileChangeType.Changed, uri: keyUri(name, key) });
              return head.revision;
            },
          }),
        );
      })
      .catch(() => undefined);
    return new vscode.Disposable(() => {
      closed = true;
      this.watches.get(id)?.close();
      this.watches.delete(id);
    });
  }

  /** Tells the editor a key changed (called by commands that write outside writeFile). */
  fire(...events: vscode.FileChangeEvent[]): void {
    this.buffered.push(...events);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.emitter.fire(this.buffered.splice(0));
      }, 5);
    }
  }

  dispose(): void {
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
    this.emitter.dispose();
    this.conflicts.dispose();
  }
}

export { ETCD_SCHEME };
