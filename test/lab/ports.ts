// Free loopback ports, picked at start. A previous port is kept when it is still free, so the
// names that embed it (registry image names, etcd peer URLs in its data) stay valid across restarts.
import * as net from 'node:net';

function listen(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(srv));
  });
}

/**
 * Picks one port per name. All candidate sockets stay open until every port is chosen, so the
 * same port is never handed out twice.
 */
export async function pickPorts(names: string[], preferred: Record<string, number | undefined> = {}): Promise<Record<string, number>> {
  const held: net.Server[] = [];
  const out: Record<string, number> = {};
  try {
    for (const name of names) {
      const want = preferred[name];
      let srv = want ? await listen(want) : undefined;
      srv ??= await listen(0);
      if (!srv) throw new Error(`no free loopback port for ${name}`);
      held.push(srv);
      out[name] = (srv.address() as net.AddressInfo).port;
    }
    return out;
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}
