/** `wharf doctor`: does every part answer? Flags pick the parts; the environment fills defaults. */
import { runDoctor, type DoctorTargets } from '../../engines/doctor/doctor';
import { clusterFromEnv } from '../../engines/etcd/connection';
import { stringFlag, type ParsedArgs } from '../args';
import type { CliCommand } from '../command';
import { printJson, printTable } from '../output';

export const doctor: CliCommand = {
  name: 'doctor',
  summary: 'check that the engine, registries, etcd cluster and SSH hosts answer',
  usage: 'wharf doctor [--host URL | --context NAME] [--registry HOST[:PORT]]... [--endpoints A,B,C] [--ssh HOST] [--ssh-config FILE] [--json]',
  valueFlags: ['host', 'context', 'registry', 'endpoints', 'ssh', 'ssh-config'],
  async run(args: ParsedArgs) {
    const targets: DoctorTargets = {
      engines: [{ host: stringFlag(args, 'host'), context: stringFlag(args, 'context') }],
      registries: stringFlag(args, 'registry')?.split(',').filter(Boolean),
    };
    const endpoints = stringFlag(args, 'endpoints');
    if (endpoints || process.env.ETCDCTL_ENDPOINTS) targets.clusters = [clusterFromEnv(process.env, endpoints)];
    targets.sshConfigFile = stringFlag(args, 'ssh-config');
    const ssh = stringFlag(args, 'ssh');
    if (ssh) targets.sshHosts = [{ spec: ssh, configFile: stringFlag(args, 'ssh-config') }];
    const results = await runDoctor(targets);
    if (args.flags.has('json')) printJson(results);
    else printTable(results.map((result) => ({ ...result, ok: result.ok ? 'ok' : 'FAILED' })), ['part', 'target', 'ok', 'detail']);
    return results.every((result) => result.ok) ? 0 : 1;
  },
};
