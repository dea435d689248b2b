/** One place that turns a failure into a notification and a log line. */
import * as vscode from 'vscode';
import { isWharfError, messageOf } from '../../engines/core/errors';
import type { Services } from '../services';

export function showErrorMessage(services: Services, commandId: string, error: unknown): void {
  if (isWharfError(error, 'cancelled')) {
    services.log.info(`${commandId}: ${error.message}`);
    return;
  }
  services.log.error(`${commandId}: ${messageOf(error)}`);
  void vscode.window.showErrorMessage(`Wharf: ${messageOf(error)}`, 'Show Log').then((choice) => {
    if (choice) services.log.show();
  });
}
