import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import dgram from 'node:dgram';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TestDaemon, ROOT, run } from './harness.js';

/** The default bridge: per-container namespace, address, /etc files, and published ports. */
let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start();
  const r = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), d.socket]);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  for (const id of ids) await d.docker(['rm', '-f', id]);
  const leaks = await d.cleanup();
  assert.deepEqual(leaks, []);
});

const prefix = () => d.subnet.split('.').slice(0, 3).join('.');

test('default bridge: eth0 with an address from --bip, default route, MAC from the IP, /etc/hosts', async () => {
  const r = await d.docker(['run', '--rm', '--hostname', 'web1', 'busybox', 'sh', '-c',
    'ip -4 addr show eth0; ip route; cat /sys/class/net/eth0/address; cat /etc/hosts; cat /etc/hostname']);
  assert.equal(r.code, 0, r.stderr);
  const m = new RegExp(`inet (${prefix().replace(/\./g, '\\.')}\\.\\d+)/24`).exec(r.stdout);
  assert.ok(m, r.stdout);
  const ip = m[1]!;
  assert.match(r.stdout, new RegExp(`default via ${prefix()}\\.1 dev eth0`));
  const mac = ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
  assert.ok(r.stdout.includes(mac), r.stdout);
  assert.ok(r.stdout.includes(`${ip}\tweb1`), r.stdout);
  assert.match(r.stdout, /\nweb1\n?$/);
});

test('inspect NetworkSettings, container to container over the bridge, gateway reachable', async () => {
  const a = await d.docker(['run', '-d', '--name', 'srv', 'busybox', 'sh', '-c', 'echo hello-bridge > /tmp/i; exec httpd -f -p 8000 -h /tmp']);
  assert.equal(a.code, 0, a.stderr);
  const ins = JSON.parse((await d.docker(['inspect', 'srv'])).stdout)[0];
  const ns = ins.NetworkSettings;
  assert.ok(ns.IPAddress.startsWith(`${prefix()}.`), JSON.stringify(ns));
  assert.equal(ns.Gateway, `${prefix()}.1`);
  assert.equal(ns.IPPrefixLen, 24);
  assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
  assert.match(ns.Networks.bridge.NetworkID, /^[0-9a-f]{64}$/);
  assert.match(ns.Networks.bridge.EndpointID, /^[0-9a-f]{64}$/);
  assert.equal(ns.MacAddress, ns.Networks.bridge.MacAddress);
  const b = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', `ping -c 1 -W 5 ${prefix()}.1 >/dev/null && echo gw-ok; echo GET / | nc ${ns.IPAddress} 8000 || true; for i in 1 2 3 4 5; do printf 'GET /i HTTP/1.0\\r\\n\\r\\n' | nc ${ns.IPAddress} 8000 && break; sleep 1; done`]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /gw-ok/);
  assert.match(b.stdout, /hello-bridge/);
  await d.docker(['rm', '-f', 'srv']);
});

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/index.html' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test('docker run -p serves on 127.0.0.1; a second binding of the port is refused; -P picks a port', async () => {
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const a = await d.docker(['run', '-d', '--name', 'pub', '-p', `${port}:80`, 'busybox', 'sh', '-c',
    'mkdir /w; echo published-ok > /w/index.html; exec httpd -f -p 80 -h /w']);
  assert.equal(a.code, 0, a.stderr);
  let body = '';
  for (let i = 0; i < 50 && !body.includes('published-ok'); i++) {
    body = await get(port).catch(() => '');
    if (!body) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(body, /published-ok/);
  const ins = JSON.parse((await d.docker(['inspect', 'pub'])).stdout)[0];
  // As dockerd 20.10: a port published without a host address is served on IPv6's :: as well.
  assert.deepEqual(ins.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: String(port) }, { HostIp: '::', HostPort: String(port) }]);
  const ps = await d.docker(['ps', '--format', '{{.Ports}}', '--filter', 'name=pub']);
  assert.match(ps.stdout, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));
  const dup = await d.docker(['run', '-d', '--name', 'dup', '-p', `${port}:80`, 'busybox', 'sleep', '30']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
  await d.docker(['rm', '-f', 'dup']);
  const p = await d.docker(['run', '-d', '--name', 'pall', '-P', '--expose', '80', 'busybox', 'sleep', '30']);
  assert.equal(p.code, 0, p.stderr);
  const pins = JSON.parse((await d.docker(['inspect', 'pall'])).stdout)[0];
  assert.ok(Number(pins.NetworkSettings.Ports['80/tcp'][0].HostPort) > 0, JSON.stringify(pins.NetworkSettings.Ports));
  await d.docker(['rm', '-f', 'pub', 'pall']);
  // after removal the port is free again
  const srv = http.createServer();
  await new Promise<void>((r, j) => { srv.once('error', j); srv.listen(port, '0.0.0.0', () => r()); });
  await new Promise<void>((r) => srv.close(() => r()));
});

test('resolv.conf drops localhost nameservers; --dns, --dns-search, --dns-opt, --add-host; none and host modes', async () => {
  const r = await d.docker(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-opt', 'ndots:2',
    '--add-host', 'db.local:192.0.2.7', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf; cat /etc/hosts']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nameserver 192\.0\.2\.53/);
  assert.match(r.stdout, /search example\.test/);
  assert.match(r.stdout, /options ndots:2/);
  assert.match(r.stdout, /192\.0\.2\.7\tdb\.local/);
  const plain = await d.docker(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
  assert.doesNotMatch(plain.stdout, /nameserver 127\./);
  assert.match(plain.stdout, /nameserver /);
  const none = await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
  assert.equal(none.stdout.trim(), 'lo');
  const host = await d.docker(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', `ls /sys/class/net`]);
  assert.ok(host.stdout.split('\n').includes(d.bridge), host.stdout);
});

test('docker network ls / inspect show bridge, host and none; predefined networks cannot be removed', async () => {
  const ls = await d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['bridge bridge local', 'host host local', 'none null local']);
  const filtered = await d.docker(['network', 'ls', '-q', '--filter', 'driver=null']);
  assert.equal(filtered.stdout.trim().length, 12);
  const a = await d.docker(['run', '-d', '--name', 'att', 'busybox', 'sleep', '30']);
  assert.equal(a.code, 0, a.stderr);
  const ins = JSON.parse((await d.docker(['network', 'inspect', 'bridge'])).stdout)[0];
  assert.equal(ins.Options['com.docker.network.bridge.name'], d.bridge);
  assert.deepEqual(ins.IPAM.Config, [{ Subnet: d.subnet, Gateway: `${prefix()}.1` }]);
  const cid = (await d.docker(['inspect', '-f', '{{.Id}}', 'att'])).stdout.trim();
  assert.equal(ins.Containers[cid].Name, 'att');
  assert.match(ins.Containers[cid].IPv4Address, new RegExp(`^${prefix().replace(/\./g, '\\.')}\\.\\d+/24$`));
  const rm = await d.docker(['network', 'rm', 'bridge']);
  assert.notEqual(rm.code, 0);
  assert.match(rm.stderr, /bridge is a pre-defined network and cannot be removed/);
  const missing = await d.docker(['network', 'inspect', 'nosuchnet']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /network nosuchnet not found/);
  await d.docker(['rm', '-f', 'att']);
});

test('--link on the default bridge writes the linked container into /etc/hosts; the address is released on rm', async () => {
  const a = await d.docker(['run', '-d', '--name', 'dbsrv', 'busybox', 'sleep', '30']);
  assert.equal(a.code, 0, a.stderr);
  const ip = (await d.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'dbsrv'])).stdout.trim();
  const r = await d.docker(['run', '--rm', '--link', 'dbsrv:db', 'busybox', 'sh', '-c', 'cat /etc/hosts; ping -c 1 -W 5 db >/dev/null && echo ping-ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${ip.replace(/\./g, '\\.')}\\tdb \\w+ dbsrv`));
  assert.match(r.stdout, /ping-ok/);
  await d.docker(['rm', '-f', 'dbsrv']);
  const again = await d.docker(['run', '-d', '--name', 'reuse', 'busybox', 'sleep', '30']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await d.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'reuse'])).stdout.trim(), ip);
  await d.docker(['rm', '-f', 'reuse']);
});

test('--link gives the linking container ALIAS_PORT_..., ALIAS_NAME and ALIAS_ENV_... variables', async () => {
  const a = await d.docker(['run', '-d', '--name', 'pgsrv', '--expose', '5432', '-e', 'PGUSER=admin', 'busybox', 'sleep', '30']);
  assert.equal(a.code, 0, a.stderr);
  const ip = (await d.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'pgsrv'])).stdout.trim();
  const r = await d.docker(['run', '--rm', '--name', 'pgcli', '--link', 'pgsrv:db', '-e', 'DB_ENV_PGUSER=mine', 'busybox', 'env']);
  assert.equal(r.code, 0, r.stderr);
  const env = r.stdout.split('\n');
  for (const v of [`DB_PORT=tcp://${ip}:5432`, `DB_PORT_5432_TCP=tcp://${ip}:5432`, `DB_PORT_5432_TCP_ADDR=${ip}`,
    'DB_PORT_5432_TCP_PORT=5432', 'DB_PORT_5432_TCP_PROTO=tcp', 'DB_NAME=/pgcli/db', 'DB_ENV_PGUSER=mine']) {
    assert.ok(env.includes(v), `${v} not in\n${r.stdout}`);
  }
  assert.ok(!env.some((v) => v.startsWith('DB_ENV_PATH=')), r.stdout);
  await d.docker(['rm', '-f', 'pgsrv']);
  const missing = await d.docker(['run', '--rm', '--link', 'nosuchctr:x', 'busybox', 'true']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /could not get container for nosuchctr/);
  assert.doesNotMatch(missing.stderr, /Unable to find image/);
  const h = await d.docker(['run', '-d', '--name', 'hostnet', '--network', 'host', 'busybox', 'sleep', '30']);
  assert.equal(h.code, 0, h.stderr);
  const toHost = await d.docker(['run', '--rm', '--link', 'hostnet:h', 'busybox', 'true']);
  assert.notEqual(toHost.code, 0);
  assert.match(toHost.stderr, /conflicting options: host type networking can't be used with links/);
  await d.docker(['rm', '-f', 'hostnet']);
});

test('--network container:<id> shares the namespace; MacAddress from the create body', async () => {
  // The CLI refuses --mac-address against API 1.41; the API takes Config.MacAddress as in 1.41.
  const c = await d.request('POST', '/containers/create?name=nsowner', { body: { Image: 'busybox', Cmd: ['sleep', '30'], MacAddress: '02:42:de:ad:be:ef' } });
  assert.equal(c.status, 201, c.body);
  const a = await d.docker(['start', 'nsowner']);
  assert.equal(a.code, 0, a.stderr);
  const ins = JSON.parse((await d.docker(['inspect', 'nsowner'])).stdout)[0];
  assert.equal(ins.NetworkSettings.MacAddress, '02:42:de:ad:be:ef');
  const r = await d.docker(['run', '--rm', '--network', 'container:nsowner', 'busybox', 'sh', '-c', 'cat /sys/class/net/eth0/address; ip -4 addr show eth0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /02:42:de:ad:be:ef/);
  assert.ok(r.stdout.includes(`inet ${ins.NetworkSettings.IPAddress}/24`), r.stdout);
  await d.docker(['rm', '-f', 'nsowner']);
});

/** Packets counted by Berth's DNAT rules for `port` in nat OUTPUT. */
async function dnatPackets(port: number): Promise<number> {
  const out = (await run('iptables', ['-w', '-t', 'nat', '-L', 'OUTPUT', '-v', '-n', '-x'])).stdout.split('\n');
  return out.filter((l) => l.includes(`berth:${d.bridge}`) && l.includes(`dpt:${port} `) && l.includes('DNAT'))
    .reduce((a, l) => a + Number(l.trim().split(/\s+/)[0]), 0);
}

test('published ports: iptables DNAT for host addresses beside the proxy; UDP through both; rules gone with the container', async () => {
  const a = await d.docker(['run', '-d', '--name', 'dnat', '-p', '127.0.0.1::7777/udp', '-p', '7777/udp', '-p', '8080', 'busybox', 'sh', '-c',
    'mkdir /w; echo dnat-ok > /w/index.html; exec httpd -f -p 8080 -h /w']);
  assert.equal(a.code, 0, a.stderr);
  const ins = JSON.parse((await d.docker(['inspect', 'dnat'])).stdout)[0];
  const ports = ins.NetworkSettings.Ports;
  const udpLocal = Number(ports['7777/udp'].find((b: { HostIp: string }) => b.HostIp === '127.0.0.1').HostPort);
  const udpAll = Number(ports['7777/udp'].find((b: { HostIp: string }) => b.HostIp === '0.0.0.0').HostPort);
  const tcp = Number(ports['8080/tcp'][0].HostPort);
  assert.ok(udpLocal > 0 && udpAll > 0 && tcp > 0, JSON.stringify(ports));
  // busybox has no UDP server: an echo server runs in the container's network namespace.
  const echo = spawn('nsenter', [`--net=/proc/${ins.State.Pid}/ns/net`, process.execPath, '-e',
    `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(7777,()=>console.log('up'))`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((r) => echo.stdout!.once('data', () => r()));
    const gw = d.subnet.replace(/0\/24$/, '1');
    const ask = (host: string, port: number) => new Promise<string>((resolve) => {
      const s = dgram.createSocket('udp4');
      let tries = 0;
      const send = () => { if (tries++ < 20) s.send('ping', port, host); else { s.close(); resolve(''); } };
      const timer = setInterval(send, 250);
      s.on('message', (m) => { clearInterval(timer); s.close(); resolve(m.toString()); });
      send();
    });
    assert.equal(await ask('127.0.0.1', udpLocal), 'echo:ping');
    const before = await dnatPackets(udpAll);
    assert.equal(await ask(gw, udpAll), 'echo:ping');
    assert.ok(await dnatPackets(udpAll) > before, 'the UDP datagram to a host address went through the DNAT rule');
    const tcpBefore = await dnatPackets(tcp);
    let body = '';
    for (let i = 0; i < 50 && !body.includes('dnat-ok'); i++) {
      body = await new Promise<string>((resolve) => {
        const s = net.connect(tcp, gw, () => s.end('GET /index.html HTTP/1.0\r\n\r\n'));
        let out = '';
        s.on('data', (b) => { out += b; });
        s.on('close', () => resolve(out));
        s.on('error', () => resolve(''));
      });
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(body, /dnat-ok/);
    assert.ok(await dnatPackets(tcp) > tcpBefore, 'the TCP connection to a host address went through the DNAT rule');
  } finally {
    echo.kill();
  }
  await d.docker(['rm', '-f', 'dnat']);
  const left = (await run('iptables-save', ['-t', 'nat'])).stdout.split('\n').filter((l) => l.includes(`berth:${d.bridge}`) && l.includes('DNAT'));
  assert.deepEqual(left, []);
});
