import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsServer, type DnsScope } from './dns.js';

/**
 * The embedded DNS server against real sockets on loopback: the server on 127.0.0.61, an
 * upstream resolver on 127.0.0.62, askers told apart by their source address.
 */
const SERVER = '127.0.0.61';
const UPSTREAM = '127.0.0.62';
const ASKER = '127.0.0.63';

const scope: DnsScope = {
  lookup: (asker, name) => (asker !== ASKER ? undefined : name === 'web' ? ['10.1.0.2', '10.1.0.3'] : name === 'web6' ? ['10.1.0.4', 'fd00:b0:1::4'] : undefined),
  reverse: (asker, ip) => (asker !== ASKER ? undefined : ip === '10.1.0.2' ? 'web.appnet' : ip === 'fd00:b0:1::4' ? 'web6.appnet' : undefined),
  upstreams: (asker) => (asker === ASKER ? [UPSTREAM] : undefined),
};

let server: DnsServer;
let upstream: dgram.Socket;
before(async () => {
  server = await DnsServer.listen(SERVER, scope, () => {});
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (msg, r) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    upstream.send(dnsPacket.encode({ type: 'response', id: q.id, flags: 0, questions: [question],
      answers: [{ type: 'A', name: question.name, ttl: 5, class: 'IN', data: '192.0.2.1' }] }), r.port, r.address);
  });
  await new Promise<void>((r) => upstream.bind(53, UPSTREAM, () => r()));
});
after(async () => {
  await server.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

function askUdp(from: string, name: string, type: dnsPacket.RecordType = 'A'): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (m) => { s.close(); resolve(dnsPacket.decode(m)); });
    s.on('error', reject);
    s.bind(0, from, () => s.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), 53, SERVER));
  });
}

const rcode = (p: dnsPacket.Packet) => (p as { rcode?: string }).rcode;

test('A answers for names of the asker\'s networks, all addresses, TTL 600', async () => {
  const p = await askUdp(ASKER, 'web');
  assert.equal(rcode(p), 'NOERROR');
  assert.deepEqual(p.answers!.map((a) => (a as { data: string }).data).sort(), ['10.1.0.2', '10.1.0.3']);
  assert.ok(p.answers!.every((a) => (a as { ttl: number }).ttl === 600));
});

test('AAAA for a container name is an empty answer, not a forward', async () => {
  const p = await askUdp(ASKER, 'web', 'AAAA');
  assert.equal(rcode(p), 'NOERROR');
  assert.deepEqual(p.answers, []);
});

test('AAAA for a container with an IPv6 address; A gives its IPv4 one only', async () => {
  const p = await askUdp(ASKER, 'web6', 'AAAA');
  assert.equal(rcode(p), 'NOERROR');
  assert.deepEqual(p.answers!.map((a) => [a.type, (a as { data: string }).data]), [['AAAA', 'fd00:b0:1::4']]);
  const a = await askUdp(ASKER, 'web6', 'A');
  assert.deepEqual(a.answers!.map((x) => [x.type, (x as { data: string }).data]), [['A', '10.1.0.4']]);
});

test('PTR for a container IPv6 address (ip6.arpa nibbles)', async () => {
  const p = await askUdp(ASKER, '4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.b.0.0.0.0.d.f.ip6.arpa', 'PTR');
  assert.equal(rcode(p), 'NOERROR');
  assert.equal((p.answers![0] as { data: string }).data, 'web6.appnet');
});

test('PTR for a container address', async () => {
  const p = await askUdp(ASKER, '2.0.1.10.in-addr.arpa', 'PTR');
  assert.equal((p.answers![0] as { data: string }).data, 'web.appnet');
});

test('other names go to the upstream resolver; an unknown asker is refused', async () => {
  const p = await askUdp(ASKER, 'elsewhere.test');
  assert.equal((p.answers![0] as { data: string }).data, '192.0.2.1');
  const refused = await askUdp('127.0.0.64', 'web');
  assert.equal(rcode(refused), 'REFUSED');
});

test('the same over TCP', async () => {
  const p = await new Promise<dnsPacket.Packet>((resolve, reject) => {
    const s = connect({ host: SERVER, port: 53, localAddress: ASKER }, () => {
      s.write(dnsPacket.streamEncode({ type: 'query', id: 9, flags: 0, questions: [{ type: 'A', name: 'web' }] }));
    });
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { s.destroy(); resolve(dnsPacket.streamDecode(buf)); }
    });
    s.on('error', reject);
  });
  assert.equal(p.id, 9);
  assert.equal(p.answers!.length, 2);
});
