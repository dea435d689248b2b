/**
 * Opens the SSH host of `wharf send/load/export`: an alias from the ssh config (`--ssh-config` or
 * ~/.ssh/config) or ssh://user@host:port. An unknown host key is refused unless
 * --accept-new-host-key, and its fingerprint is printed either way; a changed key is always refused.
 */
import { WharfError, isWharfError } from '../../engines/core/errors';
import { openHost, type OpenHost } from '../../engines/transfer/host';
import { stringFlag, type ParsedArgs } from '../args';

export const HOST_SWITCHES = ['accept-new-host-key'];

export async function withSshHost<T>(args: ParsedArgs, host: string, work: (host: OpenHost, signal: AbortSignal) => Promise<T>): Promise<T> {
  const accept = args.flags.has('accept-new-host-key');
  // Ctrl-C cancels the transfer cleanly (nothing half-loaded on the host) instead of killing us.
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let opened: OpenHost | undefined;
  try {
    opened = await openHost(
      {
        host,
        configFile: stringFlag(args, 'ssh-config'),
        ssh: {
          acceptUnknownKey: async (name, fingerprint) => {
            process.stderr.write(`wharf: ${name} presents an unknown host key ${fingerprint}${accept ? '; accepted and recorded (--accept-new-host-key)' : ''}\n`);
            return accept;
          },
        },
      },
      controller.signal,
    ).catch((error: unknown) => {
      if (isWharfError(error, 'host-key') && /not in known_hosts/.test(error.reason)) {
        throw new WharfError({ code: 'host-key', object: error.object, cause: error.reason, remedy: 'Check the fingerprint with the host\'s owner, then run again with --accept-new-host-key' });
      }
      throw error;
    });
    return await work(opened, controller.signal);
  } finally {
    opened?.close();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
