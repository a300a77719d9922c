import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostsFile, resolvConf } from './etc.js';

test('resolvConf drops localhost nameservers and falls back to Google DNS', () => {
  const host = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n';
  assert.equal(resolvConf(host, [], [], []), 'search corp.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n');
  assert.equal(resolvConf('nameserver 10.0.0.2\nnameserver 127.0.0.1\n', [], [], []), 'nameserver 10.0.0.2\n');
});

test('resolvConf: --dns, --dns-search and --dns-opt replace the host values', () => {
  assert.equal(resolvConf('nameserver 10.0.0.2\nsearch a.b\noptions ndots:1\n', ['192.0.2.1'], ['x.test'], ['ndots:3']),
    'search x.test\nnameserver 192.0.2.1\noptions ndots:3\n');
});

test('resolvConf with the embedded server: 127.0.0.11 only, ndots:0 unless given', () => {
  assert.equal(resolvConf('nameserver 10.0.0.2\nsearch a.b\noptions edns0\n', ['192.0.2.1'], [], [], true),
    'search a.b\nnameserver 127.0.0.11\noptions edns0 ndots:0\n');
  assert.equal(resolvConf('nameserver 10.0.0.2\n', [], [], ['ndots:2'], true), 'nameserver 127.0.0.11\noptions ndots:2\n');
});

test('hostsFile: defaults, --add-host, links, own addresses', () => {
  const text = hostsFile(['db.local:192.0.2.7'], ['10.0.0.3\tdb other'], [{ ip: '10.0.0.2', names: ['web'] }]);
  const lines = text.trim().split('\n');
  assert.equal(lines[0], '127.0.0.1\tlocalhost');
  assert.deepEqual(lines.slice(-3), ['192.0.2.7\tdb.local', '10.0.0.3\tdb other', '10.0.0.2\tweb']);
});
