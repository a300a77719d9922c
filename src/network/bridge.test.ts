import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macOf, parseCidr, resolvConf } from './bridge.js';

test('resolvConf drops localhost nameservers and falls back to Google DNS', () => {
  const host = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n';
  assert.equal(resolvConf(host, [], [], []), 'search corp.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n');
  assert.equal(resolvConf('nameserver 10.0.0.2\nnameserver 127.0.0.1\n', [], [], []), 'nameserver 10.0.0.2\n');
});

test('resolvConf: --dns, --dns-search and --dns-opt replace the host values', () => {
  assert.equal(resolvConf('nameserver 10.0.0.2\nsearch a.b\noptions ndots:1\n', ['192.0.2.1'], ['x.test'], ['ndots:3']),
    'search x.test\nnameserver 192.0.2.1\noptions ndots:3\n');
});

test('macOf and parseCidr', () => {
  assert.equal(macOf('172.17.0.2'), '02:42:ac:11:00:02');
  assert.deepEqual(parseCidr('10.1.2.3/24'), { ip: '10.1.2.3', prefix: 24, base: (10 << 24 | 1 << 16 | 2 << 8) >>> 0, size: 256 });
  assert.throws(() => parseCidr('10.1.2.3'), /invalid CIDR address: 10\.1\.2\.3/);
});
