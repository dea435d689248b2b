/**
 * A byte meter for one benchmark's SSH traffic: a TCP relay (its own process, so it takes no time
 * from the sync being measured) in front of the lab's sshd, counting what clients send. Every peer
 * connects through it, so Wharf, rsync and ssh are counted alike, and traffic other people send to
 * the lab's host at the same time (the veth's counters see all of it) is not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const RELAY = `
const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
let up = 0;
const server = net.createServer((client) => {
  const upstream = net.connect(port, host);
  client.on('data', (data) => { up += data.length; });
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close); upstream.on('error', close); client.on('close', close); upstream.on('close', close);
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => process.send({ up }));
process.on('disconnect', () => process.exit(0));
`;

export interface Meter {
  /** An ssh_config and alias that reach the lab's host through the relay. */
  configFile: string;
  alias: string;
  /** Bytes clients have sent so far. */
  sent(): Promise<number>;
  close(): void;
}

/** Starts the relay and writes an ssh_config (and known_hosts) for it into `dir`. */
export async function startMeter(lab: { configFile: string; alias: string; knownHosts: string; host: string; port: number }, dir: string): Promise<Meter> {
  const child: ChildProcess = spawn(process.execPath, ['-e', RELAY, lab.host, String(lab.port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // One answer per question, in order.
  const waiting: { resolve: (message: { port?: number; up?: number }) => void; reject: (error: Error) => void }[] = [];
  child.on('message', (message) => waiting.shift()?.resolve(message as { port?: number; up?: number }));
  child.on('exit', (code) => waiting.splice(0).forEach((entry) => entry.reject(new Error(`meter relay exited (${code})`))));
  const next = () => new Promise<{ port?: number; up?: number }>((resolve, reject) => waiting.push({ resolve, reject }));
  const { port } = await next();
  // The lab's host key, under the relay's address, so both OpenSSH and Wharf check it.
  const keyName = lab.port === 22 ? lab.host : `[${lab.host}]:${lab.port}`;
  const keys = (await fs.readFile(lab.knownHosts, 'utf8')).split('\n').filter((line) => line.split(/\s+/)[0]?.split(',').includes(keyName));
  const knownHosts = path.join(dir, 'meter_known_hosts');
  await fs.writeFile(knownHosts, keys.map((line) => line.replace(/^\S+/, `[127.0.0.1]:${port}`)).join('\n') + '\n');
  const config = (await fs.readFile(lab.configFile, 'utf8'))
    .replace(/^Host .*$/m, 'Host wharf-bench-metered')
    .replace(/^(\s*)HostName .*$/m, '$1HostName 127.0.0.1')
    .replace(/^(\s*)Port .*$/m, `$1Port ${port}`)
    .replace(/^(\s*)UserKnownHostsFile .*$/m, `$1UserKnownHostsFile ${knownHosts}`);
  const configFile = path.join(dir, 'meter_ssh_config');
  await fs.writeFile(configFile, config);
  return {
    configFile,
    alias: 'wharf-bench-metered',
    async sent() {
      const answer = next();
      child.send('count');
      return (await answer).up ?? 0;
    },
    close: () => child.kill(),
  };
}
