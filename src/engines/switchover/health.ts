/**
 * Is the new container healthy? Either HTTP probes against its own address (N good answers in a
 * row, within a deadline) or the image's HEALTHCHECK as the engine reports it. A container that
 * exits meanwhile fails at once, with its exit code, instead of waiting out the deadline.
 */
import type Docker from 'dockerode';
import { messageOf, throwIfCancelled, WharfError } from '../core/errors';
import { httpProbe, sleep } from './http';
import type { HealthCheck } from './plan';

export interface HealthTarget {
  docker: Docker;
  containerId: string;
  /** host:port the proxy will use; HTTP probes go there too, so "healthy" means "reachable as the proxy will reach it". */
  address: string;
}

export async function waitHealthy(check: HealthCheck, target: HealthTarget, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const object = `container ${target.containerId.slice(0, 12)}`;
  const until = Date.now() + check.withinMs;
  let good = 0;
  let last = 'no probe yet';
  for (let attempt = 1; ; attempt++) {
    throwIfCancelled(signal, object);
    const state = (await target.docker.getContainer(target.containerId).inspect()).State;
    if (!state.Running) {
      throw new WharfError({ code: 'failed', object, cause: `exited (code ${state.ExitCode}) before it was healthy`, remedy: 'Read its logs: docker logs ' + target.containerId.slice(0, 12) });
    }
    if (check.kind === 'image') {
      const status = (state as { Health?: { Status?: string } }).Health?.Status;
      if (!status) throw new WharfError({ code: 'bad-input', object, cause: 'the image has no HEALTHCHECK', remedy: 'Use an HTTP health check in the plan instead' });
      last = `HEALTHCHECK status ${status}`;
      if (status === 'healthy') {
        log(`healthy (${last})`);
        return;
      }
      if (status === 'unhealthy') throw new WharfError({ code: 'failed', object, cause: 'its HEALTHCHECK reports unhealthy', remedy: 'docker inspect --format "{{json .State.Health}}" shows the probe output' });
    } else {
      const url = `http://${target.address}${check.path}`;
      try {
        const answer = await httpProbe(url, check.timeoutMs, signal);
        last = `GET ${check.path} → ${answer.status}`;
        good = answer.status === check.expectStatus ? good + 1 : 0;
      } catch (error) {
        last = `GET ${check.path} → ${messageOf(error)}`;
        good = 0;
      }
      if (attempt === 1 || good === 0 || good >= check.successes) log(`probe ${attempt}: ${last}`);
      if (good >= check.successes) {
        log(`healthy: ${good} good answers in a row`);
        return;
      }
    }
    if (Date.now() > until) {
      throw new WharfError({
        code: 'failed',
        object,
        cause: `not healthy within ${check.withinMs} ms (last: ${last})`,
        remedy: check.kind === 'http' ? `Check that ${check.path} answers ${check.expectStatus}, or raise health.withinMs` : 'Check the image HEALTHCHECK, or raise health.withinMs',
      });
    }
    await sleep(check.kind === 'http' ? check.intervalMs : 500, signal);
  }
}
