// TLS for the lab's local engine, the way `dockerd --tlsverify` is set up by hand: a CA, a server
// certificate for 127.0.0.1, and a client certificate, laid out as DOCKER_CERT_PATH expects
// (ca.pem, cert.pem, key.pem). A second, unrelated CA lets tests show an untrusted server.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { runOk } from './processes';

export interface EngineTls {
  /** DOCKER_CERT_PATH for clients: ca.pem, cert.pem, key.pem. */
  clientDir: string;
  /** The server's files, for dockerd's --tlscacert/--tlscert/--tlskey. */
  server: { ca: string; cert: string; key: string };
  /** A CA that signed nothing here: as DOCKER_CERT_PATH's ca.pem it makes the engine untrusted. */
  otherCaDir: string;
}

const openssl = (args: string[], cwd: string) => runOk('openssl', args, { cwd, timeoutMs: 60_000 });

async function makeCa(dir: string, name: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '30', '-subj', `/CN=${name}`], dir);
}

async function issue(dir: string, name: string, extensions: string, caDir: string): Promise<void> {
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=wharf-lab-${name}`], dir);
  await fs.writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', path.join(caDir, 'ca.pem'), '-CAkey', path.join(caDir, 'ca-key.pem'), '-CAcreateserial', '-out', `${name}-cert.pem`, '-days', '30', '-extfile', `${name}.ext`], dir);
}

/** Makes (or reuses) the lab's engine certificates under `dir`. */
export async function engineTls(dir: string): Promise<EngineTls> {
  const ca = path.join(dir, 'ca');
  const client = path.join(dir, 'client');
  const other = path.join(dir, 'other-ca');
  const result: EngineTls = { clientDir: client, server: { ca: path.join(ca, 'ca.pem'), cert: path.join(ca, 'server-cert.pem'), key: path.join(ca, 'server-key.pem') }, otherCaDir: other };
  const done = await fs.stat(path.join(client, 'key.pem')).then(() => true, () => false);
  if (done) return result;
  await fs.rm(dir, { recursive: true, force: true });
  await makeCa(ca, 'wharf-lab-ca');
  await issue(ca, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n', ca);
  await issue(ca, 'client', 'extendedKeyUsage=clientAuth\n', ca);
  await fs.mkdir(client, { recursive: true });
  await fs.copyFile(path.join(ca, 'ca.pem'), path.join(client, 'ca.pem'));
  await fs.copyFile(path.join(ca, 'client-cert.pem'), path.join(client, 'cert.pem'));
  await fs.copyFile(path.join(ca, 'client-key.pem'), path.join(client, 'key.pem'));
  // The untrusting client: the right client certificate, the wrong CA.
  await makeCa(other, 'wharf-lab-other-ca');
  await fs.copyFile(path.join(ca, 'client-cert.pem'), path.join(other, 'cert.pem'));
  await fs.copyFile(path.join(ca, 'client-key.pem'), path.join(other, 'key.pem'));
  return result;
}
