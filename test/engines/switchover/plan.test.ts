/** The plan's validation, HAProxy's state parsing and the nginx renderer: pure logic, table-driven. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultStatusPrefix, validatePlan } from '../../../src/engines/switchover/plan';
import { parseServersState, serverName } from '../../../src/engines/switchover/proxy/haproxy';
import { renderUpstream } from '../../../src/engines/switchover/proxy/nginx';
import { splitAddress } from '../../../src/engines/switchover/proxy/types';

const good = { app: 'web', container: 'web-1', image: 'web:2', prefix: '/app/upstream/', key: 'web1', etcd: { endpoints: ['http://127.0.0.1:2379'] }, proxyUrl: 'http://127.0.0.1:8080' };

describe('switchover plan', () => {
  it('fills defaults', () => {
    const plan = validatePlan(good);
    assert.equal(plan.health.kind, 'http');
    assert.equal(plan.drainMs, 2000);
    assert.equal(plan.retention, 1);
    assert.equal(defaultStatusPrefix(plan.prefix), '/app/status/');
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['missing image', { image: undefined }, /image: missing/],
    ['relative prefix', { prefix: 'app/upstream/' }, /prefix: .* must start and end/],
    ['key with a slash', { key: 'a/b' }, /key: .* not a key name/],
    ['same new key', { newKey: 'web1' }, /newKey: is the same as key/],
    ['no endpoints', { etcd: { endpoints: [] } }, /etcd\.endpoints: missing or empty/],
    ['bad proxy URL', { proxyUrl: 'not a url' }, /proxyUrl: .* is not a URL/],
    ['status inside prefix', { statusPrefix: '/app/upstream/status/' }, /statusPrefix: overlaps/],
    ['health path', { health: { path: 'health' } }, /health\.path: must start with/],
    ['health kind', { health: { kind: 'tcp' } }, /health\.kind/],
    ['negative drain', { drainMs: -1 }, /drainMs: must be a number/],
    ['bad port', { port: 70000 }, /port: must be a TCP port/],
    ['bad address mode', { address: 'dns' }, /address: must be/],
  ];
  for (const [name, change, message] of cases) {
    it(`rejects: ${name}`, () => assert.throws(() => validatePlan({ ...good, ...change }), message));
  }
});

describe('proxy helpers', () => {
  it('parses HAProxy `show servers state`', () => {
    const text = `1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n3 app 1 s1 127.0.0.1 2 0 1 1 0 1 0 0 0 0 0 0 - 18091 - 0 0 - - 0\n`;
    assert.deepEqual(parseServersState(text), [{ name: 's1', address: '127.0.0.1:18091', opState: 2, adminState: 0 }]);
    assert.equal(serverName('py1/blue'), 'py1_blue');
  });

  it('splits host:port and refuses anything else', () => {
    assert.deepEqual(splitAddress('10.0.0.1:80'), ['10.0.0.1', 80]);
    assert.equal(splitAddress('10.0.0.1'), undefined);
    assert.equal(splitAddress('x:99999'), undefined);
  });

  it('renders an nginx upstream, never an empty one, never a directive from a value', () => {
    const text = renderUpstream('app', [{ name: 'b', address: '127.0.0.1:2' }, { name: 'a', address: '127.0.0.1:1' }]);
    assert.match(text, /upstream app \{\n {2}server 127\.0\.0\.1:1 max_fails=0; # a\n {2}server 127\.0\.0\.1:2/);
    assert.throws(() => renderUpstream('app', []), /no servers/);
    assert.throws(() => renderUpstream('app', [{ name: 'x', address: '1.2.3.4:80; include /etc/passwd' }]), /not host:port/);
  });
});
