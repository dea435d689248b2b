// `node out/test/lab/cli.js start|stop|status|env [--root DIR] [--docker-host URL] [--slow-link RATE] [--purge]`
// start and status print the endpoints JSON; failures print one line and exit 1; bad usage exits 2.
import { defaultRoot, labReport, readEndpoints, startLab, stopLab } from './lab';
import { LabEndpoints } from './endpoints';

const USAGE = 'usage: lab start|stop|status|env [--root DIR] [--docker-host URL] [--slow-link RATE] [--purge] [--verbose]';

function parse(argv: string[]): { cmd: string; flags: Record<string, string | true> } {
  const [cmd, ...rest] = argv;
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.slice(2).split('=', 2);
    if (v !== undefined) flags[k] = v;
    else if (['root', 'docker-host', 'slow-link'].includes(k)) {
      if (rest[i + 1] === undefined) throw new Error(`--${k} needs a value`);
      flags[k] = rest[++i];
    } else flags[k] = true;
  }
  const known = ['root', 'docker-host', 'slow-link', 'purge', 'verbose'];
  for (const k of Object.keys(flags)) if (!known.includes(k)) throw new Error(`unknown flag --${k}`);
  if (!['start', 'stop', 'status', 'env'].includes(cmd ?? '')) throw new Error(cmd ? `unknown command ${cmd}` : 'no command');
  return { cmd, flags };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function envLines(e: LabEndpoints): string[] {
  return [
    `export WHARF_LAB_ROOT=${q(e.root)}`,
    `export DOCKER_HOST=${q(e.docker.local.host)}`,
    `export ETCDCTL_API=3`,
    `export ETCDCTL_ENDPOINTS=${q(e.etcd.endpoints.join(','))}`,
    `export WHARF_LAB_REMOTE=${q(e.ssh.alias)}`,
    `export WHARF_LAB_SSH_CONFIG=${q(e.ssh.configFile)}`,
    `export WHARF_LAB_REGISTRY_TEST=${q(e.registries.test.address)}`,
    `export WHARF_LAB_REGISTRY_STAGE=${q(e.registries.stage.address)}`,
  ];
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`lab: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { cmd, flags } = parsed;
  const root = typeof flags.root === 'string' ? flags.root : defaultRoot();
  const verbose = flags.verbose === true || process.stderr.isTTY;
  const log = verbose ? (l: string) => process.stderr.write(`lab: ${l}\n`) : undefined;
  switch (cmd) {
    case 'start': {
      const e = await startLab({
        root,
        log,
        dockerHost: typeof flags['docker-host'] === 'string' ? flags['docker-host'] : undefined,
        slowLink: typeof flags['slow-link'] === 'string' ? flags['slow-link'] : undefined,
      });
      process.stdout.write(JSON.stringify(e, null, 2) + '\n');
      return 0;
    }
    case 'stop': {
      const notes = await stopLab({ root, purge: flags.purge === true, log });
      if (!verbose) for (const n of notes) process.stderr.write(`lab: ${n}\n`);
      return 0;
    }
    case 'status':
    case 'env': {
      const e = await readEndpoints(root);
      if (!e) throw new Error(`lab not running: no endpoints under ${root}; start it with: node out/test/lab/cli.js start`);
      const down = (await labReport(e)).filter((c) => !c.ok).map((c) => c.part);
      if (down.length) throw new Error(`lab parts not answering: ${down.join(', ')}; restart with: node out/test/lab/cli.js start`);
      process.stdout.write(cmd === 'status' ? JSON.stringify(e, null, 2) + '\n' : envLines(e).join('\n') + '\n');
      return 0;
    }
  }
  return 2;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`lab: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' | ')}\n`);
    process.exit(1);
  },
);
