/**
 * The confd way, for teams on nginx: render an upstream block from the set, swap the file in
 * atomically (temp + rename), check the whole configuration with `nginx -t`, put the previous
 * file back if the check fails, then reload (SIGHUP to the master named in the pid file, which is
 * what `nginx -s reload` does). Never renders an empty upstream: nginx rejects it.
 *
 * Trade-off (measured in the bench): each reload starts new workers and retires the old ones;
 * a request on a reused keep-alive connection can be cut when an old worker exits, so this path
 * does not reach zero failed requests under load. HAProxy's runtime API does.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { messageOf, WharfError } from '../../core/errors';
import type { Logger } from '../../core/progress';
import { splitAddress, type ProxyDriver, type UpstreamServer } from './types';

export interface NginxDriverOptions {
  /** The file the main configuration includes, holding only this upstream block. */
  upstreamFile: string;
  /** The upstream's name (proxy_pass http://<name>). */
  upstream: string;
  /** The master's pid file. */
  pidFile: string;
  /** The main configuration, for `nginx -t -c`; and its prefix (-p) when not the default. */
  configFile?: string;
  prefix?: string;
  nginxBinary?: string;
  /** Idle keep-alive connections to upstreams kept per worker. */
  keepalive?: number;
}

export function renderUpstream(name: string, servers: UpstreamServer[], keepalive = 32, comment = ''): string {
  if (servers.length === 0) throw new WharfError({ code: 'bad-input', object: `nginx upstream ${name}`, cause: 'no servers', remedy: 'An empty upstream is invalid nginx configuration; keep the last good file' });
  if (!/^[a-zA-Z0-9_.-]+$/.test(name)) throw new WharfError({ code: 'bad-input', object: `nginx upstream ${name}`, cause: 'not a valid upstream name' });
  const lines = [...servers]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      // Only host:port reaches the file: nothing from etcd can inject nginx directives.
      if (!splitAddress(s.address) || /[;{}\s#'"]/.test(s.address)) throw new WharfError({ code: 'bad-input', object: `upstream ${s.name}`, cause: `"${s.address}" is not host:port` });
      return `  server ${s.address} max_fails=0; # ${s.name.replace(/[^\w.:-]/g, '_')}`;
    });
  return `# Rendered by wharf confd${comment ? ` ${comment}` : ''}. Do not edit: the next change overwrites it.\nupstream ${name} {\n${lines.join('\n')}\n  keepalive ${keepalive};\n}\n`;
}

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const status = (error as { code?: unknown } | null)?.code;
      const code = error ? (typeof status === 'number' ? status : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

export class NginxDriver implements ProxyDriver {
  readonly label: string;
  reloads = 0;

  constructor(private readonly options: NginxDriverOptions) {
    this.label = `nginx upstream ${options.upstream} in ${options.upstreamFile}`;
  }

  async apply(servers: UpstreamServer[], log: Logger): Promise<void> {
    const o = this.options;
    const text = renderUpstream(o.upstream, servers, o.keepalive);
    const previous = await fs.readFile(o.upstreamFile, 'utf8').catch(() => undefined);
    if (previous === text) return;
    const tmp = path.join(path.dirname(o.upstreamFile), `.${path.basename(o.upstreamFile)}.${process.pid}.tmp`);
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, o.upstreamFile);
    const args = ['-t', '-q'];
    if (o.configFile) args.push('-c', o.configFile);
    if (o.prefix) args.push('-p', o.prefix.endsWith('/') ? o.prefix : `${o.prefix}/`);
    const check = await run(o.nginxBinary ?? 'nginx', args);
    if (check.code !== 0) {
      // Put the last good file back so a later reload (by anyone) does not pick up a broken one.
      if (previous === undefined) await fs.rm(o.upstreamFile, { force: true });
      else {
        await fs.writeFile(tmp, previous);
        await fs.rename(tmp, o.upstreamFile);
      }
      throw new WharfError({ code: 'failed', object: `nginx configuration (${o.upstreamFile})`, cause: `nginx -t failed: ${check.output.split('\n').slice(-2).join(' ')}`, remedy: 'The previous file was restored; fix the configuration that includes it' });
    }
    const pid = Number((await fs.readFile(o.pidFile, 'utf8').catch(() => '')).trim());
    if (!pid) throw new WharfError({ code: 'not-found', object: `nginx pid file ${o.pidFile}`, cause: 'missing or empty', remedy: 'Is nginx running? Pass its pid file (--nginx-pid)' });
    try {
      process.kill(pid, 'SIGHUP');
    } catch (error) {
      throw new WharfError({ code: 'failed', object: `nginx master ${pid}`, cause: `reload signal failed: ${messageOf(error)}`, remedy: 'Check that the pid file is current' });
    }
    this.reloads++;
    log.info(`nginx: ${servers.length} server(s) rendered into ${o.upstreamFile}, reloaded (pid ${pid})`);
  }
}
