import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidr6String, contains6, formatIPv6, fromIp6Arpa, ipv6FromMac, isIPv6, macOf, overlaps6, parseCidr, parseCidr6, parseIPv6, pickPool, Pool, Pool6 } from './ipam.js';

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

test('IPv6 addresses: parsed in every written form, printed as dockerd prints them (RFC 5952)', () => {
  assert.equal(parseIPv6('fd00:b0::1'), (0xfd00n << 112n) | (0xb0n << 96n) | 1n);
  assert.equal(parseIPv6('::'), 0n);
  assert.equal(parseIPv6('::ffff:10.1.2.3'), (0xffffn << 32n) | 0x0a010203n);
  for (const bad of ['fd00', '1:2:3:4:5:6:7:8:9', 'fd00::1::2', 'fd00::g', 'fe80::1%eth0', '10.0.0.1', '1:2:3:4:5:6:7::8:9']) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
  assert.equal(formatIPv6(parseIPv6('FD00:00B0:0000:0000:0000:0000:0000:0001')!), 'fd00:b0::1');
  assert.equal(formatIPv6(parseIPv6('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1'); // one zero group stays
  assert.equal(formatIPv6(parseIPv6('2001:0:0:1:0:0:0:1')!), '2001:0:0:1::1'); // the longest run
  assert.equal(formatIPv6(parseIPv6('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1'); // the first of equal runs
  assert.equal(formatIPv6(0n), '::');
  assert.equal(formatIPv6(1n), '::1');
  assert.equal(isIPv6('fd00:b0:1::2'), true);
});

test('IPv6 CIDRs: the base is masked, overlaps and containment, the reverse-lookup name', () => {
  const c = parseCidr6('fd00:b0:1::5/64');
  assert.equal(cidr6String(c), 'fd00:b0:1::/64');
  assert.equal(c.ip, 'fd00:b0:1::5');
  assert.equal(c.size, 1n << 64n);
  assert.throws(() => parseCidr6('fd00:b0:1::/129'), /invalid CIDR address: fd00:b0:1::\/129/);
  assert.throws(() => parseCidr6('10.0.0.0/8'), /invalid CIDR address/);
  assert.equal(overlaps6(parseCidr6('fd00:b0::/32'), parseCidr6('fd00:b0:7::/48')), true);
  assert.equal(overlaps6(parseCidr6('fd00:b0:1::/64'), parseCidr6('fd00:b0:2::/64')), false);
  assert.equal(contains6(c, 'fd00:b0:1::ffff'), true);
  assert.equal(contains6(c, 'fd00:b0:2::1'), false);
  assert.equal(contains6(c, '10.0.0.1'), false);
  assert.equal(ipv6FromMac(parseCidr6('fd00:b0:9::/64'), '02:42:0a:17:00:02'), 'fd00:b0:9::242:a17:2');
  assert.equal(fromIp6Arpa('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.b.0.0.0.0.d.f.ip6.arpa'), 'fd00:b0:1::2');
  assert.equal(fromIp6Arpa('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.B.0.0.0.0.D.F.ip6.arpa'), 'fd00:b0:1::2');
  assert.equal(fromIp6Arpa('0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.b.0.0.0.0.d.f.ip6.arpa'), undefined); // 28 nibbles: no address
  assert.equal(fromIp6Arpa('2.0.1.10.in-addr.arpa'), undefined);
});

test('Pool6: gateway ::1, first free after it, ip-range, aux addresses, static addresses in any written form, release', () => {
  const p = new Pool6({ Subnet: 'fd00:b0:1::/64', AuxiliaryAddresses: { r: 'fd00:b0:1::2' } });
  assert.equal(p.gateway, 'fd00:b0:1::1');
  assert.equal(p.prefix, 64);
  assert.equal(p.allocate('a'), 'fd00:b0:1::3');
  assert.equal(p.allocate('a'), 'fd00:b0:1::3');
  assert.equal(p.allocate('b'), 'fd00:b0:1::4');
  assert.ok(p.release('a'));
  assert.equal(p.release('a'), false);
  assert.equal(p.allocate('c'), 'fd00:b0:1::3');
  assert.throws(() => p.allocate('d', 'fd00:b0:1:0:0:0:0:4'), /Address already in use/);
  assert.throws(() => p.allocate('d', 'fd00:b0:1::1'), /Address already in use/);
  assert.throws(() => p.allocate('d', 'fd00:b0:2::4'), /Invalid address fd00:b0:2::4: It does not belong to any of this network's subnets/);
  assert.throws(() => p.allocate('d', 'fd00:b0:1::'), /requested address is out of range/);
  assert.throws(() => p.allocate('d', 'nope'), /invalid IPv6 address: nope/);
  assert.equal(p.allocate('d', 'FD00:B0:1:0::ABCD'), 'fd00:b0:1::abcd');
  assert.deepEqual(p.toJSON(), { b: 'fd00:b0:1::4', c: 'fd00:b0:1::3', d: 'fd00:b0:1::abcd' });
  // Persisted allocations come back held: nothing is handed out twice.
  const again = new Pool6({ Subnet: 'fd00:b0:1::/64' }, p.toJSON());
  assert.equal(again.allocate('e'), 'fd00:b0:1::2');
  assert.equal(again.allocate('f'), 'fd00:b0:1::5');
  const r = new Pool6({ Subnet: 'fd00:b0:2::/48', Gateway: 'fd00:b0:2::fe', IPRange: 'fd00:b0:2:1::/64' });
  assert.equal(r.gateway, 'fd00:b0:2::fe');
  assert.equal(r.allocate('x'), 'fd00:b0:2:1::');
  assert.throws(() => new Pool6({ Subnet: 'fd00:b0:2::/48', Gateway: 'fd00:b0:3::1' }), /no matching subnet for gateway fd00:b0:3::1/);
  assert.throws(() => new Pool6({ Subnet: 'fd00:b0:2::/48', IPRange: 'fd00:b0::/32' }), /no matching subnet for range fd00:b0::\/32/);
  assert.throws(() => new Pool6({ Subnet: 'fd00:b0:2::/48', AuxiliaryAddresses: { x: 'fd00:b1::1' } }), /no matching subnet for aux-address fd00:b1::1 \(x\)/);
  const small = new Pool6({ Subnet: 'fd00:b0:3::/126' });
  assert.equal(small.allocate('x'), 'fd00:b0:3::2');
  assert.equal(small.allocate('y'), 'fd00:b0:3::3');
  assert.throws(() => small.allocate('z'), /no available IPv6 addresses/);
});
