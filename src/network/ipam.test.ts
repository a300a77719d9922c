import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macOf, parseCidr, pickPool, Pool } from './ipam.js';

test('macOf and parseCidr', () => {
  assert.equal(macOf('172.17.0.2'), '02:42:ac:11:00:02');
  assert.deepEqual(parseCidr('10.1.2.3/24'), { ip: '10.1.2.3', prefix: 24, base: (10 << 24 | 1 << 16 | 2 << 8) >>> 0, size: 256 });
  assert.throws(() => parseCidr('10.1.2.3'), /invalid CIDR address: 10\.1\.2\.3/);
  assert.throws(() => parseCidr('10.1.2.300/24'), /invalid CIDR address/);
});

test('pickPool: 172.17-31/16 first, then 192.168.x.0/20, skipping what is taken', () => {
  assert.equal(pickPool([]), '172.17.0.0/16');
  assert.equal(pickPool([parseCidr('172.17.0.0/16'), parseCidr('172.18.5.0/24')]), '172.19.0.0/16');
  const all172 = Array.from({ length: 15 }, (_, i) => parseCidr(`172.${17 + i}.0.0/16`));
  assert.equal(pickPool([...all172, parseCidr('192.168.0.1/32')]), '192.168.16.0/20');
});

test('Pool: first free address, gateway and aux reserved, ip-range honoured, static addresses', () => {
  const p = new Pool({ Subnet: '10.5.0.0/24', AuxiliaryAddresses: { r: '10.5.0.2' } });
  assert.equal(p.gateway, '10.5.0.1');
  assert.equal(p.allocate('a'), '10.5.0.3');
  assert.equal(p.allocate('a'), '10.5.0.3');
  assert.equal(p.allocate('b'), '10.5.0.4');
  p.release('a');
  assert.equal(p.allocate('c'), '10.5.0.3');
  assert.throws(() => p.allocate('d', '10.5.0.4'), /Address already in use/);
  assert.throws(() => p.allocate('d', '10.6.0.4'), /does not belong to any of this network's subnets/);
  assert.equal(p.allocate('d', '10.5.0.200'), '10.5.0.200');
  const r = new Pool({ Subnet: '10.6.0.0/16', Gateway: '10.6.0.254', IPRange: '10.6.1.0/24' });
  assert.equal(r.allocate('x'), '10.6.1.0');
  assert.throws(() => new Pool({ Subnet: '10.6.0.0/16', Gateway: '10.7.0.1' }), /no matching subnet for gateway 10\.7\.0\.1/);
  const small = new Pool({ Subnet: '10.8.0.0/30' });
  assert.equal(small.allocate('x'), '10.8.0.2');
  assert.throws(() => small.allocate('y'), /no available IPv4 addresses/);
});
