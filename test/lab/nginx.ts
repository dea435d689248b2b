// nginx in front of lab apps, with its own prefix (pid, logs, temp paths) under the lab root and an
// upstreams folder the switchover work fills in later.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LabEndpoints } from './endpoints';
import { httpOk, startDaemon, waitUntil } from './processes';

export const NGINX_PART = 'nginx';

export async function startNginx(root: string, port: number): Promise<LabEndpoints['nginx'] & { pid: number }> {
  const prefix = path.join(root, 'nginx');
  const upstreamsDir = path.join(prefix, 'upstreams');
  const html = path.join(prefix, 'html');
  const temp = path.join(prefix, 'temp');
  for (const d of [upstreamsDir, html, temp]) await fs.mkdir(d, { recursive: true });
  await fs.writeFile(path.join(html, 'index.html'), '<!doctype html><title>Wharf lab</title><h1>Wharf lab</h1>\n');
  const pidFile = path.join(prefix, 'nginx.pid');
  const errorLog = path.join(root, 'logs', 'nginx-error.log');
  const configFile = path.join(prefix, 'nginx.conf');
  const url = `http://127.0.0.1:${port}`;
  // daemon off: the pid we spawn is the master, so stopping by pid stops all of nginx.
  const conf = `daemon off;
worker_processes 1;
pid ${pidFile};
error_log ${errorLog} warn;
events { worker_connections 512; }
http {
  default_type text/html;
  access_log ${path.join(root, 'logs', 'nginx-access.log')};
  client_body_temp_path ${temp}/client_body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  include ${upstreamsDir}/*.conf;
  server {
    listen 127.0.0.1:${port};
    root ${html};
    index index.html;
  }
}
`;
  await fs.writeFile(configFile, conf);
  const pid = await startDaemon(root, {
    part: NGINX_PART,
    cmd: 'nginx',
    args: ['-p', `${prefix}/`, '-e', errorLog, '-c', configFile],
  });
  await waitUntil(() => httpOk({ url: `${url}/` }), { root, part: NGINX_PART, pid, timeoutMs: 20_000, wayOut: `read ${errorLog}; check with: nginx -t -p ${prefix}/ -c ${configFile}` });
  return { url, configFile, prefix, pidFile, upstreamsDir, pid };
}
