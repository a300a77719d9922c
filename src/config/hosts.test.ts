import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultHost, parseHost } from './hosts.js';

describe('parseHost', () => {
  it('defaults an empty value to Berth\'s socket', () => {
    assert.equal(defaultHost, 'unix:///run/berth/berth.sock');
    assert.equal(parseHost('', false), defaultHost);
    assert.equal(parseHost('  ', true), defaultHost);
  });

  it('keeps unix paths and fills an empty one', () => {
    assert.equal(parseHost('unix:///tmp/b.sock', false), 'unix:///tmp/b.sock');
    assert.equal(parseHost('unix://', false), defaultHost);
  });

  it('completes tcp addresses: port 2375, or 2376 with TLS; empty host is 0.0.0.0', () => {
    assert.equal(parseHost('tcp://127.0.0.1:1234', false), 'tcp://127.0.0.1:1234');
    assert.equal(parseHost('tcp://127.0.0.1', false), 'tcp://127.0.0.1:2375');
    assert.equal(parseHost('tcp://127.0.0.1', true), 'tcp://127.0.0.1:2376');
    assert.equal(parseHost('tcp://:2375', false), 'tcp://0.0.0.0:2375');
    assert.equal(parseHost('tcp://', false), 'tcp://0.0.0.0:2375');
    assert.equal(parseHost('tcp://', true), 'tcp://0.0.0.0:2376');
    assert.equal(parseHost('tcp://localhost:2375/', false), 'tcp://localhost:2375');
  });

  it('reads a bare host:port as tcp', () => {
    assert.equal(parseHost('127.0.0.1:2375', false), 'tcp://127.0.0.1:2375');
    assert.equal(parseHost(':4243', false), 'tcp://0.0.0.0:4243');
    assert.equal(parseHost('example.com', true), 'tcp://example.com:2376');
  });

  it('handles IPv6 in brackets', () => {
    assert.equal(parseHost('tcp://[::1]:2375', false), 'tcp://[::1]:2375');
    assert.equal(parseHost('tcp://[::1]:', false), 'tcp://[::1]:2375');
    assert.equal(parseHost('tcp://[::1]', true), 'tcp://[::1]:2376');
  });

  it('refuses malformed addresses with dockerd\'s message', () => {
    for (const bad of ['tcp://host:notaport', 'foo://x', 'ssh://me@host', 'npipe:////./pipe/x', 'tcp://host:70000', 'tcp://ho st:1', 'tcp://h:1/path', 'tcp://a:b:c']) {
      assert.throws(() => parseHost(bad, false), { message: `Invalid bind address format: ${bad}` }, bad);
    }
    assert.throws(() => parseHost('tcp://tcp://x', false), { message: 'Invalid proto, expected tcp: tcp://tcp://x' });
    assert.throws(() => parseHost('unix://unix://x', false), { message: 'Invalid proto, expected unix: unix://x' });
  });

  it('refuses socket activation', () => {
    assert.throws(() => parseHost('fd://', false), /fd:\/\/.*not supported by berthd/);
    assert.throws(() => parseHost('fd://3', false), /not supported/);
  });
});
