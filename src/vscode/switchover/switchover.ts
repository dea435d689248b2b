/**
 * Containers → right-click a running container → Switch Over to New Image…: fills the plan from
 * the container (image, key, prefix, health, proxy) with QuickPick / InputBox, or takes it whole
 * from the arguments (tests, other commands), runs the switchover with a cancellable progress and
 * a live timeline webview, and returns the panel's final state. Roll back: from the panel's button
 * or `wharf.switchoverRollback`.
 */
import type Docker from 'dockerode';
import * as vscode from 'vscode';
import { WharfError, messageOf } from '../../engines/core/errors';
import { closeEngine, connectEngine } from '../../engines/docker/client';
import { parseHost } from '../../engines/docker/endpoint';
import { EtcdCluster } from '../../engines/etcd/cluster';
import { clusterFromEnv, type ClusterConfig } from '../../engines/etcd/connection';
import { FORWARD_STEPS, STEP_TITLES, Timeline, type StepId } from '../../engines/switchover/events';
import { validatePlan, type SwitchoverPlan } from '../../engines/switchover/plan';
import { rollbackLast } from '../../engines/switchover/rollback';
import { runSwitchover, type SwitchoverResult } from '../../engines/switchover/run';
import { dockerExplorer } from '../docker/explorer';
import type { ContainerNode } from '../docker/nodes';
import { withEditorProgress } from '../progress';
import type { Services } from '../services';
import { settings } from '../settings';
import { requireTrust } from '../trust';
import { SwitchoverPanel } from './panel';
import type { SwitchoverPanelState } from './protocol';

/** A partial plan: every field given skips its prompt; `engineHost` names the engine (URL). */
export type SwitchoverArgs = Partial<SwitchoverPlan> & { container: string; engineHost?: string; etcdCluster?: string };

const section = () => vscode.workspace.getConfiguration('wharf');

function isNode(value: unknown): value is ContainerNode {
  return !!value && typeof value === 'object' && (value as { type?: unknown }).type === 'container';
}

async function ask(title: string, value: string, prompt: string, validate?: (text: string) => string | undefined): Promise<string> {
  const answer = await vscode.window.showInputBox({ title, value, prompt, ignoreFocusOut: true, validateInput: validate });
  if (answer === undefined) throw new WharfError({ code: 'cancelled', object: 'switchover', cause: 'cancelled by the user' });
  return answer;
}

/** An etcd cluster from the arguments, the one configured cluster, or a pick among several. */
async function etcdConfig(services: Services, args: SwitchoverArgs): Promise<ClusterConfig> {
  if (args.etcd?.endpoints?.length) return { name: 'switchover', endpoints: args.etcd.endpoints };
  const configs: ClusterConfig[] = settings.etcdClusters().map((c) => ({ ...c, endpoints: [...c.endpoints] }));
  if (process.env.ETCDCTL_ENDPOINTS) configs.push({ ...clusterFromEnv(process.env), name: 'ETCDCTL_ENDPOINTS' });
  let chosen = args.etcdCluster ? configs.find((c) => c.name === args.etcdCluster) : configs.length === 1 ? configs[0] : undefined;
  if (!chosen) {
    if (configs.length === 0) throw new WharfError({ code: 'not-found', object: 'etcd cluster', cause: 'none is configured', remedy: 'Add one with "Add etcd Cluster…" (wharf.etcd.clusters) or set ETCDCTL_ENDPOINTS' });
    const pick = await vscode.window.showQuickPick(
      configs.map((c) => ({ label: c.name, description: c.endpoints.join(', '), config: c })),
      { title: 'Switch over: the etcd cluster holding the upstream keys', ignoreFocusOut: true },
    );
    if (!pick) throw new WharfError({ code: 'cancelled', object: 'switchover', cause: 'cancelled by the user' });
    chosen = pick.config;
  }
  if (chosen.username && chosen.password === undefined) chosen.password = (await services.secrets.get(`wharf.etcd.password/${chosen.name}`)) ?? undefined;
  return chosen;
}

/** Asks for what the arguments leave out, with the running container's values as defaults. */
async function fillPlan(args: SwitchoverArgs, info: Docker.ContainerInspectInfo, etcd: ClusterConfig): Promise<SwitchoverPlan> {
  const name = info.Name.replace(/^\//, '');
  const title = `Switch over ${name}`;
  const raw: Record<string, unknown> = { ...args, container: args.container, etcd: { endpoints: etcd.endpoints } };
  delete raw.engineHost;
  delete raw.etcdCluster;
  raw.app ??= name.replace(/[^a-zA-Z0-9_.-]/g, '-');
  raw.image ??= await ask(title, info.Config.Image, `The new image (tag or digest). Now: ${info.Config.Image}`, (t) => (t.trim() && !/\s/.test(t) ? undefined : 'an image reference, e.g. web:2 or web@sha256:…'));
  raw.prefix ??= await ask(title, section().get<string>('switchover.prefix', '/app/upstream/'), 'The etcd prefix the proxy watches (confd layout: <prefix><name> = host:port)', (t) => (t.startsWith('/') && t.endsWith('/') ? undefined : 'starts and ends with "/"'));
  raw.key ??= await ask(title, name, `This container's key under ${String(raw.prefix)}`);
  raw.proxyUrl ??= await ask(title, section().get<string>('switchover.proxyUrl', '') || 'http://127.0.0.1:8080', 'The proxy URL to probe through (its frontend)', (t) => {
    try {
      new URL(t);
      return undefined;
    } catch {
      return 'a URL, e.g. http://127.0.0.1:8080';
    }
  });
  if (!raw.health) {
    const hasHealthcheck = !!(info.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test?.length;
    const items = [{ label: '$(pulse) HTTP path', detail: 'GET a path on the new container until it answers the expected status' }];
    if (hasHealthcheck) items.push({ label: '$(heart) The image HEALTHCHECK', detail: 'wait until Docker reports it healthy' });
    const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: `${title}: health check`, ignoreFocusOut: true });
    if (!pick) throw new WharfError({ code: 'cancelled', object: 'switchover', cause: 'cancelled by the user' });
    if (pick.label.includes('HEALTHCHECK')) raw.health = { kind: 'image', withinMs: 60_000 };
    else raw.health = { kind: 'http', path: await ask(title, '/health', 'Health path on the new container (expects 200)', (t) => (t.startsWith('/') ? undefined : 'starts with "/"')) };
  }
  raw.drainMs ??= section().get<number>('switchover.drainMs', 2000);
  raw.retention ??= section().get<number>('switchover.retention', 1);
  return validatePlan(raw);
}

function initialState(plan: SwitchoverPlan, summary: string, steps: StepId[] = FORWARD_STEPS): SwitchoverPanelState {
  return { title: `Switchover: ${plan.app}`, app: plan.app, summary, status: 'running', steps: new Timeline(steps).list(), canRollBack: false };
}

/** Engine and etcd clients for a run; closed by the caller. */
interface Clients {
  docker: Docker;
  ownDocker: boolean;
  cluster: EtcdCluster;
}

async function openClients(services: Services, target: ContainerNode | SwitchoverArgs, plan: SwitchoverPlan, etcd: ClusterConfig): Promise<Clients> {
  let docker: Docker;
  let ownDocker = false;
  if (isNode(target)) docker = await dockerExplorer(services).engines.docker(target.engineId);
  else if (target.engineHost ?? plan.host) {
    docker = await connectEngine(parseHost((target.engineHost ?? plan.host) as string), { sshConfigFile: settings.sshConfigFile() });
    ownDocker = true;
  } else {
    const first = dockerExplorer(services).engines.list[0];
    if (!first) throw new WharfError({ code: 'not-found', object: 'Docker engine', cause: 'no engine is configured', remedy: 'Add one in wharf.engines' });
    docker = await first.docker();
  }
  return { docker, ownDocker, cluster: await EtcdCluster.open(etcd) };
}

function closeClients(clients: Clients): void {
  clients.cluster.close();
  if (clients.ownDocker) closeEngine(clients.docker);
}

export async function switchover(services: Services, target?: ContainerNode | SwitchoverArgs): Promise<SwitchoverPanelState | undefined> {
  if (!requireTrust('Switch over')) return undefined;
  if (!target) {
    void vscode.window.showInformationMessage('Wharf: right-click a running container in the Containers view and choose Switch Over to New Image…');
    return undefined;
  }
  const args: SwitchoverArgs = isNode(target) ? { container: target.container.id } : target;
  const fromArgs = !isNode(target);
  const etcd = await etcdConfig(services, args);
  // Inspect first: the prompts default to the container's own values.
  const probe = await openClients(services, target, validatePlanLoose(args, etcd), etcd);
  let plan: SwitchoverPlan;
  let info: Docker.ContainerInspectInfo;
  try {
    info = await probe.docker.getContainer(args.container).inspect();
    plan = await fillPlan(args, info, etcd);
  } catch (error) {
    closeClients(probe);
    if ((error as WharfError).code === 'cancelled') return undefined;
    throw error;
  }
  const summary = `${info.Name.replace(/^\//, '')} (${info.Config.Image}) → ${plan.image}, via ${plan.prefix} and ${plan.proxyUrl}`;
  if (!fromArgs) {
    const go = await vscode.window.showWarningMessage(
      `Switch over ${info.Name.replace(/^\//, '')} to ${plan.image}?`,
      { modal: true, detail: `A new container starts beside it; traffic moves through ${plan.prefix} once it is healthy; the old one is stopped and kept for rollback.` },
      'Switch Over',
    );
    if (go !== 'Switch Over') {
      closeClients(probe);
      return undefined;
    }
  }
  const panel = services.track(new SwitchoverPanel(services.context.extensionUri, initialState(plan, summary), () => void vscode.commands.executeCommand('wharf.switchoverRollback', { plan, fromPanel: true })));
  activePanels.set(plan.app, panel);
  const timeline = new Timeline();
  let result: SwitchoverResult;
  try {
    result = await withEditorProgress(`Wharf: switching over ${plan.app} to ${plan.image}`, ({ signal, progress }) =>
      runSwitchover(plan, { docker: probe.docker, cluster: probe.cluster }, {
        signal,
        onEvent: (event) => {
          timeline.apply(event);
          for (const line of event.lines) services.log.info(`switchover ${plan.app}: [${event.step}] ${line}`);
          if (event.status === 'running' && event.lines.length === 0) progress.report({ message: STEP_TITLES[event.step] });
          panel.update({ steps: timeline.list() });
        },
      }),
    );
  } finally {
    closeClients(probe);
  }
  panel.update({
    steps: result.steps,
    status: result.ok ? 'done' : result.rolledBack ? 'rolled-back' : 'failed',
    error: result.error?.message,
    canRollBack: result.ok && plan.retention > 0,
  });
  if (result.ok) void vscode.window.showInformationMessage(`Wharf: ${plan.app} now runs ${plan.image}; the old container is stopped and kept for rollback.`);
  else void vscode.window.showErrorMessage(`Wharf: switchover of ${plan.app} failed at "${STEP_TITLES[result.failedStep ?? 'start-new']}" and was rolled back: ${result.error?.message ?? ''}`);
  return panel.state;
}

/** Enough of a plan to open clients before the prompts (the engine host only). */
function validatePlanLoose(args: SwitchoverArgs, etcd: ClusterConfig): SwitchoverPlan {
  return { host: args.host, etcd: { endpoints: etcd.endpoints } } as SwitchoverPlan;
}

const activePanels = new Map<string, SwitchoverPanel>();

export interface RollbackArgs {
  plan: SwitchoverPlan;
  engineHost?: string;
  /** From the panel's button: the user already saw the timeline; still confirm (destructive). */
  fromPanel?: boolean;
  /** Tests: skip the modal confirmation. */
  confirmed?: boolean;
}

/** Rolls back the last finished switchover of an app; its timeline shows in the app's panel. */
export async function switchoverRollback(services: Services, args?: RollbackArgs): Promise<SwitchoverPanelState | undefined> {
  if (!requireTrust('Roll back a switchover')) return undefined;
  let plan = args?.plan;
  if (!plan) {
    const files = await vscode.window.showOpenDialog({ title: 'Roll back: the switchover plan (JSON)', filters: { 'Switchover plan': ['json'] }, canSelectMany: false });
    if (!files?.[0]) return undefined;
    const { loadPlan } = await import('../../engines/switchover/plan');
    plan = await loadPlan(files[0].fsPath);
  }
  if (!args?.confirmed) {
    const go = await vscode.window.showWarningMessage(
      `Roll back ${plan.app}?`,
      { modal: true, detail: 'The previous container starts again and takes the traffic back; the current one is then stopped and removed.' },
      'Roll Back',
    );
    if (go !== 'Roll Back') return undefined;
  }
  const etcd: ClusterConfig = { name: 'switchover', endpoints: plan.etcd.endpoints };
  const clients = await openClients(services, { container: plan.container, engineHost: args?.engineHost }, plan, etcd);
  let panel = activePanels.get(plan.app);
  const rollbackSteps: StepId[] = FORWARD_STEPS.filter((s) => s !== 'retention');
  const state = { ...initialState(plan, `Roll back ${plan.app} to its previous container`, rollbackSteps), title: `Roll back: ${plan.app}`, status: 'rolling-back' as const };
  if (!panel || !panel.visible) {
    panel = services.track(new SwitchoverPanel(services.context.extensionUri, state, () => undefined));
    activePanels.set(plan.app, panel);
  } else {
    panel.update(state);
    panel.reveal();
  }
  const timeline = new Timeline(rollbackSteps);
  let result: SwitchoverResult;
  try {
    result = await withEditorProgress(`Wharf: rolling back ${plan.app}`, ({ signal }) =>
      rollbackLast(plan as SwitchoverPlan, { docker: clients.docker, cluster: clients.cluster }, {
        signal,
        onEvent: (event) => {
          timeline.apply(event);
          for (const line of event.lines) services.log.info(`rollback ${plan!.app}: [${event.step}] ${line}`);
          panel!.update({ steps: timeline.list() });
        },
      }),
    );
  } catch (error) {
    panel.update({ status: 'failed', error: messageOf(error) });
    throw error;
  } finally {
    closeClients(clients);
  }
  panel.update({ steps: result.steps, status: result.ok ? 'reverted' : 'failed', error: result.error?.message, canRollBack: false });
  if (result.ok) void vscode.window.showInformationMessage(`Wharf: ${plan.app} rolled back to ${result.record?.new.image ?? 'its previous container'}.`);
  else void vscode.window.showErrorMessage(`Wharf: rollback of ${plan.app} failed: ${result.error?.message ?? ''}`);
  return panel.state;
}
