import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipBits, ipFamily, joinHostPort, parseCidr, splitHostPort } from './net.js';

describe('net helpers', () => {
  it('ipFamily follows net.ParseIP (no zones)', () => {
    assert.equal(ipFamily('10.0.0.1'), 4);
    assert.equal(ipFamily('::1'), 6);
    assert.equal(ipFamily('::ffff:1.2.3.4'), 6);
    assert.equal(ipFamily('fe80::1%eth0'), 0);
    assert.equal(ipFamily('1.2.3'), 0);
    assert.equal(ipFamily('host'), 0);
  });

  it('parseCidr reads ip/prefix and refuses the rest', () => {
    assert.deepEqual(parseCidr('172.17.0.1/16'), { ip: '172.17.0.1', prefix: 16, family: 4 });
    assert.deepEqual(parseCidr('2001:db8::/64'), { ip: '2001:db8::', prefix: 64, family: 6 });
    for (const bad of ['172.17.0.1', '172.17.0.1/33', '2001:db8::/129', 'x/8', '10.0.0.0/', '10.0.0.0/a']) {
      assert.throws(() => parseCidr(bad), { message: `invalid CIDR address: ${bad}` });
    }
  });

  it('ipBits expands v4 and v6 addresses', () => {
    assert.equal(ipBits('128.0.0.1'), `1${'0'.repeat(30)}1`);
    assert.equal(ipBits('::1'), `${'0'.repeat(127)}1`);
    assert.equal(ipBits('2001:db8::'), `${(0x2001).toString(2).padStart(16, '0')}${(0xdb8).toString(2).padStart(16, '0')}${'0'.repeat(96)}`);
    assert.equal(ipBits('::ffff:1.2.3.4').slice(96), ipBits('1.2.3.4'));
  });

  it('splitHostPort follows Go, messages included', () => {
    assert.deepEqual(splitHostPort('h:1'), { host: 'h', port: '1' });
    assert.deepEqual(splitHostPort(':2375'), { host: '', port: '2375' });
    assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: '80' });
    assert.throws(() => splitHostPort('h'), { message: 'address h: missing port in address' });
    assert.throws(() => splitHostPort('::1:80'), { message: 'address ::1:80: too many colons in address' });
    assert.throws(() => splitHostPort('[::1]'), { message: 'address [::1]: missing port in address' });
    assert.throws(() => splitHostPort('[::1:80'), { message: "address [::1:80: missing ']' in address" });
  });

  it('joinHostPort brackets IPv6', () => {
    assert.equal(joinHostPort('::1', '80'), '[::1]:80');
    assert.equal(joinHostPort('h', '80'), 'h:80');
  });
});
