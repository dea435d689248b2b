/** The etcd command ids and their handlers, merged into the one table in registerCommands.ts. */
import type { Services } from '../../services';
import { etcdFeature, type EtcdFeature } from '../feature';
import { exportCommand, healthCommand, importCommand } from './cluster';
import { historyCommand } from './history';
import { createFolderCommand, createKeyCommand, deleteKeyCommand, deletePrefixCommand, renameKeyCommand } from './keys';
import { keepAliveCommand, putWithTtlCommand, revokeLeaseCommand, showTtlCommand } from './leases';
import { filterCommand, loadMoreCommand, refreshCommand, setPasswordCommand, toggleFlatCommand } from './view';

type EtcdHandler = (feature: EtcdFeature, ...args: never[]) => unknown;

const handlers: Record<string, EtcdHandler> = {
  'wharf.etcdRefresh': refreshCommand,
  'wharf.etcdToggleFlat': toggleFlatCommand,
  'wharf.etcdTreeView': toggleFlatCommand,
  'wharf.etcdFilter': filterCommand,
  'wharf.etcdLoadMore': loadMoreCommand,
  'wharf.etcdSetPassword': setPasswordCommand,
  'wharf.etcdCreateKey': createKeyCommand,
  'wharf.etcdCreateFolder': createFolderCommand,
  'wharf.etcdRename': renameKeyCommand,
  'wharf.etcdDeleteKey': deleteKeyCommand,
  'wharf.etcdDeletePrefix': deletePrefixCommand,
  'wharf.etcdHistory': historyCommand,
  'wharf.etcdPutWithTtl': putWithTtlCommand,
  'wharf.etcdShowTtl': showTtlCommand,
  'wharf.etcdKeepAlive': keepAliveCommand,
  'wharf.etcdRevokeLease': revokeLeaseCommand,
  'wharf.etcdHealth': healthCommand,
  'wharf.etcdExport': exportCommand,
  'wharf.etcdImport': importCommand,
};

/** Handlers in registerCommands' shape: (services, ...args). */
export const etcdCommands: Record<string, (services: Services, ...args: never[]) => unknown> = Object.fromEntries(
  Object.entries(handlers).map(([id, handler]) => [id, (services: Services, ...args: never[]) => handler(etcdFeature(services), ...args)]),
);
