import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveSshTarget } from '../../../src/engines/ssh/config';
import { commandLine, shellQuote } from '../../../src/engines/ssh/exec';
import { parseProxyJump } from '../../../src/engines/ssh/jump';

describe('ssh config', () => {
  let dir: string;
  let configFile: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-sshcfg-'));
    configFile = path.join(dir, 'config');
    await writeFile(
      configFile,
      [
        'Host prod-* !prod-db',
        '  User deploy',
        '  IdentityFile ~/.ssh/prod',
        'Host direct-*',
        '  ProxyJump none',
        'Host prod-web',
        '  HostName 10.1.0.7',
        '  Port 2200',
        '  User ignored-because-first-wins',
        '  UserKnownHostsFile /etc/wharf/known_hosts',
        'Host *',
        '  IdentityFile /keys/default',
        '  ProxyJump bastion',
      ].join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('applies matching blocks in order, first value wins, identity files accumulate', async () => {
    const target = await resolveSshTarget('prod-web', { configFile, env: { USER: 'me' } });
    assert.equal(target.host, '10.1.0.7');
    assert.equal(target.port, 2200);
    assert.equal(target.user, 'deploy');
    assert.deepEqual(target.identityFiles, [path.join(os.homedir(), '.ssh/prod'), '/keys/default']);
    assert.deepEqual(target.knownHostsFiles, ['/etc/wharf/known_hosts']);
    assert.equal(target.proxyJump, 'bastion');
  });

  it('honours negated patterns', async () => {
    const target = await resolveSshTarget('prod-db', { configFile, env: { USER: 'me' } });
    assert.equal(target.user, 'me');
    assert.equal(target.host, 'prod-db');
  });

  it('takes user and port from an ssh:// URL over the config', async () => {
    const target = await resolveSshTarget('ssh://ops@prod-web:2022', { configFile, env: { USER: 'me' } });
    assert.deepEqual([target.user, target.host, target.port], ['ops', '10.1.0.7', 2022]);
  });

  it('reads ProxyJump none as a direct connection, and records the config file for the jump hosts', async () => {
    const target = await resolveSshTarget('direct-db', { configFile, env: { USER: 'me' } });
    assert.equal(target.proxyJump, undefined);
    assert.equal(target.configFile, configFile);
  });

  it('splits a ProxyJump chain into hops, a port turning the hop into a URL', () => {
    assert.deepEqual(parseProxyJump('bastion', 'x'), ['bastion']);
    assert.deepEqual(parseProxyJump('ops@a:2222, b ,ssh://c:22', 'x'), ['ssh://ops@a:2222', 'b', 'ssh://c:22']);
    assert.deepEqual(parseProxyJump('none', 'x'), []);
    assert.throws(() => parseProxyJump('a b', 'x'), /ProxyJump hop "a b" is not \[user@\]host\[:port\]/);
  });

  it('quotes every argument for the remote shell', () => {
    assert.equal(shellQuote('docker'), 'docker');
    assert.equal(shellQuote("it's; rm -rf /"), `'it'\\''s; rm -rf /'`);
    assert.equal(commandLine(['docker', 'load', '-q']), 'docker load -q');
    assert.equal(commandLine(['echo', '$(id)', '']), `echo '$(id)' ''`);
  });
});
