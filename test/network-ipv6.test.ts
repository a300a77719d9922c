import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD, TestDaemon, ROOT, deleteRule, run } from './harness.js';
import { removeAllAndFindLeaks, removeNetworks, startWithBusybox } from './container-fixture.js';

/**
 * IPv6 with the real CLI against a real berthd started with `--ipv6 --fixed-cidr-v6` and
 * (`--experimental --ip6tables`, as dockerd 20.10 wants them) IPv6 rules: dual-stack user
 * networks, addresses from the pool and static ones, the default bridge's MAC-based addresses,
 * containers reaching each other by name over IPv6, ports published on :: too, AAAA and
 * ip6.arpa answers from the embedded DNS server, a restart handing no address out twice, and
 * nothing (bridge, veth, ip6tables rule) left at the end.
 *
 * Subnets: IPv4 10.235-239.<n>.0/24 (the harness's <n>), IPv6 under fd00:b0:<t>::/48 with <t>
 * from this process, so test files can run side by side.
 */
let d: TestDaemon;
let since: Date;
const bridges = new Set<string>();
const T = (process.pid % 0xfff0).toString(16);
const V6 = (k: string) => `fd00:b0:${T}:${k}`;
const DEFAULT6 = `${V6('d')}::/64`;
const ARGS = ['--dns', '127.0.0.1', '--ipv6', '--fixed-cidr-v6', DEFAULT6, '--experimental', '--ip6tables'];
/** IPv6 forwarding as it was: a network with IPv6 turns it on, as dockerd's; the test puts it back. */
const forwarding: Record<string, string> = {};

before(async () => {
  for (const k of ['all', 'default']) forwarding[k] = await readFile(`/proc/sys/net/ipv6/conf/${k}/forwarding`, 'utf8');
  since = new Date();
  d = await startWithBusybox({ args: ARGS });
});

after(async () => {
  const leaks = await removeNetworks(d);
  const defaultBridge = d.bridge;
  leaks.push(...await removeAllAndFindLeaks(d, since));
  // The default bridge keeps its IPv6 MASQUERADE after shutdown, as its IPv4 one (docker0's do): the harness's part for IPv4, ours here.
  const masq = (await run('ip6tables', ['-w', '-t', 'nat', '-S'])).stdout.split('\n').filter((l) => l.includes(`berth:${defaultBridge}`));
  for (const l of masq) {
    if (!l.includes('MASQUERADE') || !l.includes(DEFAULT6)) leaks.push(`ip6tables rule left: ${l}`);
    await deleteRule('ip6tables', 'nat', l);
  }
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  const rules = [...(await run('iptables-save', [])).stdout.split('\n'), ...(await run('ip6tables-save', [])).stdout.split('\n')];
  for (const b of [...bridges, defaultBridge]) {
    if (b !== defaultBridge && links.includes(`: ${b}:`)) { leaks.push(`bridge left: ${b}`); await run('ip', ['link', 'del', b]); }
    for (const r of rules.filter((l) => new RegExp(`\\b${b}\\b`).test(l) && !(b === defaultBridge && l.includes('MASQUERADE') && !l.includes(':')))) {
      leaks.push(`rule left: ${r}`);
    }
  }
  for (const r of rules.filter((l) => l.includes(`fd00:b0:${T}:`))) leaks.push(`rule left: ${r}`);
  const netns = (await run('ls', [join(d.execRoot, 'netns')])).stdout.trim();
  if (netns) leaks.push(`netns left: ${netns}`);
  for (const [k, v] of Object.entries(forwarding)) await writeFile(`/proc/sys/net/ipv6/conf/${k}/forwarding`, v);
  assert.deepEqual(leaks, []);
});

const octet = () => d.subnet.split('.')[2]!;

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function refused(args: string[], message: string): Promise<void> {
  const r = await d.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  assert.ok(r.stderr.includes(message), `docker ${args.join(' ')}: ${r.stderr}`);
}

async function createNet(name: string, args: string[]): Promise<{ id: string; bridge: string }> {
  const id = (await ok(['network', 'create', ...args, name])).trim();
  const bridge = `br-${id.slice(0, 12)}`;
  bridges.add(bridge);
  return { id, bridge };
}

const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];
const netInspect = async (ref: string) => JSON.parse(await ok(['network', 'inspect', ref]))[0];

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path: '/index.html' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Retries a GET while the server in the container starts. */
async function getEventually(host: string, port: number, want: string): Promise<string> {
  let body = '';
  for (let i = 0; i < 50 && !body.includes(want); i++) {
    body = await get(host, port).catch(() => '');
    if (!body.includes(want)) await new Promise((r) => setTimeout(r, 100));
  }
  return body;
}

/** Packets counted by Berth's ip6tables DNAT rules for `port` in nat OUTPUT. */
async function dnat6Packets(port: number): Promise<number> {
  const out = (await run('ip6tables', ['-w', '-t', 'nat', '-L', 'OUTPUT', '-v', '-n', '-x'])).stdout.split('\n');
  return out.filter((l) => l.includes('berth:') && l.includes(`dpt:${port} `) && l.includes('DNAT'))
    .reduce((a, l) => a + Number(l.trim().split(/\s+/)[0]), 0);
}

const HTTPD = (text: string) => ['sh', '-c', `mkdir /w; echo ${text} > /w/index.html; exec httpd -f -p 80 -h /w`];

test('network create --ipv6 with an IPv4 and an IPv6 subnet: inspect, the bridge\'s gateway, ip-range, errors', async () => {
  const { bridge } = await createNet('dual', ['--ipv6', '--subnet', `10.236.${octet()}.0/24`, '--subnet', `${V6('1')}::/64`]);
  const ins = await netInspect('dual');
  assert.equal(ins.EnableIPv6, true);
  assert.deepEqual(ins.IPAM.Config, [
    { Subnet: `10.236.${octet()}.0/24`, Gateway: `10.236.${octet()}.1` },
    { Subnet: `${V6('1')}::/64`, Gateway: `${V6('1')}::1` },
  ]);
  const addr = (await run('ip', ['-6', '-o', 'addr', 'show', 'dev', bridge])).stdout;
  assert.match(addr, new RegExp(`inet6 ${V6('1')}::1/64 `));

  await createNet('ranged', ['--ipv6', '--subnet', `10.237.${octet()}.0/24`, '--subnet', `${V6('2')}::/64`,
    '--gateway', `${V6('2')}::fe`, '--ip-range', `${V6('2')}::100/120`]);
  const r = await netInspect('ranged');
  assert.deepEqual(r.IPAM.Config[1], { Subnet: `${V6('2')}::/64`, Gateway: `${V6('2')}::fe`, IPRange: `${V6('2')}::100/120` });
  await ok(['run', '-d', '--name', 'inrange', '--network', 'ranged', 'busybox', 'sleep', '300']);
  assert.equal((await inspect('inrange')).NetworkSettings.Networks.ranged.GlobalIPv6Address, `${V6('2')}::100`);
  await ok(['rm', '-f', 'inrange']);
  await ok(['network', 'rm', 'ranged']);

  await refused(['network', 'create', '--ipv6', 'nopool6'],
    'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
  await refused(['network', 'create', '--ipv6', '--subnet', `10.238.${octet()}.0/24`, '--subnet', `${V6('1')}:8000::/65`, 'overlap6'],
    'Pool overlaps with other one on this address space');
  await refused(['network', 'create', '--ipv6', '--subnet', `${V6('3')}::/64`, '--gateway', `${V6('4')}::1`, 'badgw6'], 'no matching subnet for gateway');
  const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
  for (const n of ['nopool6', 'overlap6', 'badgw6', 'ranged']) assert.ok(!names.includes(n), n);
});

test('containers on an IPv6 network: addresses, inspect fields, routes, /etc/hosts, ping -6 and HTTP over IPv6 by name, AAAA and PTR', async () => {
  await ok(['run', '-d', '--name', 'six1', '--network', 'dual', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'six2', '--network', 'dual', '--ip6', `${V6('1')}::99`, 'busybox', ...HTTPD('over-six')]);
  const one = await inspect('six1');
  const ep = one.NetworkSettings.Networks.dual;
  assert.equal(ep.GlobalIPv6Address, `${V6('1')}::2`);
  assert.equal(ep.GlobalIPv6PrefixLen, 64);
  assert.equal(ep.IPv6Gateway, `${V6('1')}::1`);
  assert.equal(ep.IPAddress, `10.236.${octet()}.2`);
  // Top-level addresses are the default bridge's only, as dockerd.
  assert.equal(one.NetworkSettings.GlobalIPv6Address, '');
  const two = (await inspect('six2')).NetworkSettings.Networks.dual;
  assert.equal(two.GlobalIPv6Address, `${V6('1')}::99`);
  assert.deepEqual(two.IPAMConfig, { IPv6Address: `${V6('1')}::99` });

  const net = await netInspect('dual');
  const byName = Object.fromEntries(Object.values(net.Containers as Record<string, { Name: string; IPv6Address: string; IPv4Address: string }>)
    .map((c) => [c.Name, c.IPv6Address]));
  assert.deepEqual(byName, { six1: `${V6('1')}::2/64`, six2: `${V6('1')}::99/64` });

  const routes = await ok(['exec', 'six1', 'ip', '-6', 'route']);
  assert.match(routes, new RegExp(`default via ${V6('1')}::1 `));
  const hosts = await ok(['exec', 'six2', 'cat', '/etc/hosts']);
  const hostname = (await ok(['exec', 'six2', 'hostname'])).trim();
  assert.match(hosts, new RegExp(`^10\\.236\\.${octet()}\\.3\\t${hostname}$`, 'm'));
  assert.match(hosts, new RegExp(`^${V6('1')}::99\\t${hostname}$`, 'm'));
  // Usable at once (no duplicate address detection): the address is not tentative (flag 0x40).
  const inet6 = await ok(['exec', 'six1', 'cat', '/proc/net/if_inet6']);
  const own = inet6.split('\n').find((l) => l.endsWith('eth0') && !l.startsWith('fe80'));
  assert.ok(own, inet6);
  assert.equal(Number.parseInt(own.split(/\s+/)[4]!, 16) & 0x40, 0, own);

  const ping = await ok(['exec', 'six1', 'sh', '-c', 'ping -6 -c 1 -W 5 six2 && echo ping6-ok']);
  assert.match(ping, /ping6-ok/);
  assert.ok(ping.includes(`${V6('1')}::99`), ping);
  let page = '';
  for (let i = 0; i < 30 && !page.includes('over-six'); i++) {
    page = (await d.docker(['exec', 'six1', 'sh', '-c', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc ${V6('1')}::99 80`])).stdout;
    if (!page.includes('over-six')) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(page, /over-six/);
  const aaaa = await ok(['exec', 'six1', 'nslookup', '-type=AAAA', 'six2']);
  assert.ok(aaaa.includes(`${V6('1')}::99`), aaaa);
  const ptr = await ok(['exec', 'six1', 'nslookup', `${V6('1')}::99`]);
  assert.match(ptr, /six2\.dual/);
  await ok(['rm', '-f', 'six1', 'six2']);
});

test('a container on IPv4-only networks has IPv6 on its loopback only', async () => {
  await createNet('only4', ['--subnet', `10.238.${octet()}.0/24`]);
  const r = await ok(['run', '--rm', '--network', 'only4', 'busybox', 'cat', '/proc/net/if_inet6']);
  const ifs = r.trim().split('\n').map((l) => l.split(/\s+/).at(-1));
  assert.deepEqual(ifs, ['lo'], r);
  const ins = await netInspect('only4');
  assert.equal(ins.EnableIPv6, false);
});

test('--ip6: dockerd\'s errors on networks without IPv6, the default bridge, outside the subnet, in use', async () => {
  await refused(['run', '-d', '--name', 'bad1', '--network', 'only4', '--ip6', `${V6('1')}::5`, 'busybox', 'true'],
    'user specified IP address is supported only when connecting to networks with user configured subnets');
  await refused(['run', '-d', '--name', 'bad2', '--ip6', `${V6('d')}::5`, 'busybox', 'true'],
    'user specified IP address is supported on user defined networks only');
  await refused(['run', '-d', '--name', 'bad3', '--network', 'dual', '--ip6', `${V6('9')}::5`, 'busybox', 'true'],
    `Invalid address ${V6('9')}::5: It does not belong to any of this network's subnets`);
  await ok(['run', '-d', '--name', 'holder', '--network', 'dual', '--ip6', `${V6('1')}::77`, 'busybox', 'sleep', '300']);
  const r = await d.docker(['run', '-d', '--name', 'bad4', '--network', 'dual', '--ip6', `${V6('1')}::77`, 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Address already in use/);
  for (const n of ['bad1', 'bad2', 'bad3', 'bad4', 'holder']) await d.docker(['rm', '-f', n]);
  // What the failed start held is free again.
  await ok(['run', '-d', '--name', 'again', '--network', 'dual', '--ip6', `${V6('1')}::77`, 'busybox', 'sleep', '300']);
  await ok(['rm', '-f', 'again']);
});

test('connect and disconnect an IPv6 network on a running container: address, route, release', async () => {
  await ok(['run', '-d', '--name', 'hopper', '--network', 'only4', 'busybox', 'sleep', '300']);
  await ok(['network', 'connect', '--ip6', `${V6('1')}::42`, 'dual', 'hopper']);
  const ep = (await inspect('hopper')).NetworkSettings.Networks.dual;
  assert.equal(ep.GlobalIPv6Address, `${V6('1')}::42`);
  const addrs = await ok(['exec', 'hopper', 'cat', '/proc/net/if_inet6']);
  assert.ok(addrs.includes(`${V6('1')}::42`.replace(/::/, ':0000:0000:0000:').split(':').map((g) => g.padStart(4, '0')).join('')), addrs);
  await ok(['network', 'disconnect', 'dual', 'hopper']);
  const after = await ok(['exec', 'hopper', 'cat', '/proc/net/if_inet6']);
  assert.deepEqual(after.trim().split('\n').map((l) => l.split(/\s+/).at(-1)), ['lo']);
  // Released: a new container may have it.
  await ok(['run', '-d', '--name', 'taker', '--network', 'dual', '--ip6', `${V6('1')}::42`, 'busybox', 'sleep', '300']);
  await ok(['rm', '-f', 'hopper', 'taker']);
});

test('the default bridge with --ipv6 --fixed-cidr-v6: MAC-based addresses, top-level fields, ping -6', async () => {
  const br = await netInspect('bridge');
  assert.equal(br.EnableIPv6, true);
  assert.deepEqual(br.IPAM.Config.find((c: { Subnet: string }) => c.Subnet.includes(':')), { Subnet: DEFAULT6 });
  await ok(['run', '-d', '--name', 'b1', 'busybox', 'sleep', '300']);
  const ns = (await inspect('b1')).NetworkSettings;
  const mac = (ns.MacAddress as string).split(':');
  // <prefix>:0:<the MAC's three groups>, printed as dockerd prints addresses (no leading zeros; one zero group stays).
  const g = (a: string, b: string) => Number.parseInt(`${a}${b}`, 16).toString(16);
  const fromMac = `${V6('d')}:0:${g(mac[0]!, mac[1]!)}:${g(mac[2]!, mac[3]!)}:${g(mac[4]!, mac[5]!)}`;
  assert.equal(ns.GlobalIPv6Address, fromMac);
  assert.equal(ns.GlobalIPv6PrefixLen, 64);
  assert.equal(ns.IPv6Gateway, `${V6('d')}::1`);
  assert.equal(ns.Networks.bridge.GlobalIPv6Address, fromMac);
  const r = await ok(['run', '--rm', 'busybox', 'sh', '-c', `ping -6 -c 1 -W 5 ${fromMac} >/dev/null && echo bridge6-ok`]);
  assert.match(r, /bridge6-ok/);
  await ok(['rm', '-f', 'b1']);
});

test('published ports: 0.0.0.0 and :: as dockerd 20.10, docker port, [::1] reaches IPv6 and IPv4-only containers, -p [::1]:P:80, ip6tables DNAT', async () => {
  await ok(['run', '-d', '--name', 'web6', '--network', 'dual', '-p', '80', 'busybox', ...HTTPD('web-six')]);
  const ports = (await inspect('web6')).NetworkSettings.Ports['80/tcp'] as Array<{ HostIp: string; HostPort: string }>;
  assert.deepEqual(ports.map((p) => p.HostIp), ['0.0.0.0', '::']);
  const [p4, p6] = ports.map((p) => Number(p.HostPort));
  assert.ok(p4! > 0 && p6! > 0);
  // The CLI prints the :: binding as `:::P` (20.10) or `[::]:P` (newer ones); the API's HostIp is `::` either way.
  const dp = (await ok(['port', 'web6', '80'])).trim().split('\n');
  assert.equal(dp.length, 2, dp.join('\n'));
  assert.equal(dp[0], `0.0.0.0:${p4}`);
  assert.ok([`:::${p6}`, `[::]:${p6}`].includes(dp[1]!), dp[1]);
  assert.match(await getEventually('::1', p6!, 'web-six'), /web-six/);
  assert.match(await getEventually('127.0.0.1', p4!, 'web-six'), /web-six/);
  const ip6 = (await inspect('web6')).NetworkSettings.Networks.dual.GlobalIPv6Address;
  const nat6 = (await run('ip6tables-save', ['-t', 'nat'])).stdout;
  assert.ok(nat6.includes(`--to-destination [${ip6}]:80`), nat6);
  // A host address other than loopback (the bridge's IPv6 gateway) goes through ip6tables DNAT, not the proxy.
  const before = await dnat6Packets(p6!);
  assert.match(await getEventually(`${V6('1')}::1`, p6!, 'web-six'), /web-six/);
  assert.ok(await dnat6Packets(p6!) > before, 'the connection to a host IPv6 address went through the DNAT rule');

  // No IPv6 in the container: the proxy takes [::1] to its IPv4 address.
  await ok(['run', '-d', '--name', 'web4', '--network', 'only4', '-p', '80', 'busybox', ...HTTPD('web-four')]);
  const ports4 = (await inspect('web4')).NetworkSettings.Ports['80/tcp'] as Array<{ HostIp: string; HostPort: string }>;
  const q6 = Number(ports4.find((p) => p.HostIp === '::')!.HostPort);
  assert.match(await getEventually('::1', q6, 'web-four'), /web-four/);

  await ok(['run', '-d', '--name', 'web1', '--network', 'dual', '-p', '[::1]::80', 'busybox', ...HTTPD('loop-six')]);
  const ports1 = (await inspect('web1')).NetworkSettings.Ports['80/tcp'] as Array<{ HostIp: string; HostPort: string }>;
  assert.deepEqual(ports1.map((p) => p.HostIp), ['::1']);
  const r1 = Number(ports1[0]!.HostPort);
  assert.match(await getEventually('::1', r1, 'loop-six'), /loop-six/);
  await assert.rejects(get('127.0.0.1', r1));
  assert.ok([`80/tcp -> ::1:${r1}`, `80/tcp -> [::1]:${r1}`].includes((await ok(['port', 'web1'])).trim()));

  await ok(['rm', '-f', 'web6', 'web4', 'web1']);
  const gone = (await run('ip6tables-save', ['-t', 'nat'])).stdout;
  assert.ok(!gone.includes(`[${ip6}]`), gone);
  await assert.rejects(get('::1', p6!));
});

test('UDP published on :: reaches an IPv6 container through the proxy ([::1]) and through ip6tables DNAT (a host IPv6 address)', async () => {
  await ok(['run', '-d', '--name', 'udp6', '--network', 'dual', '-p', '7777/udp', 'busybox', 'sleep', '300']);
  const ins = await inspect('udp6');
  const p6 = Number((ins.NetworkSettings.Ports['7777/udp'] as Array<{ HostIp: string; HostPort: string }>).find((b) => b.HostIp === '::')!.HostPort);
  // busybox has no UDP server: an echo server runs in the container's network namespace.
  const echo = spawn('nsenter', [`--net=/proc/${ins.State.Pid}/ns/net`, process.execPath, '-e',
    `const s=require('dgram').createSocket('udp6');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(7777,()=>console.log('up'))`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((r) => echo.stdout!.once('data', () => r()));
    const ask = (host: string, port: number) => new Promise<string>((resolve) => {
      const sock = dgram.createSocket('udp6');
      let tries = 0;
      const send = () => { if (tries++ < 20) sock.send('ping', port, host); else { clearInterval(timer); sock.close(); resolve(''); } };
      const timer = setInterval(send, 250);
      sock.on('message', (m) => { clearInterval(timer); sock.close(); resolve(m.toString()); });
      send();
    });
    assert.equal(await ask('::1', p6), 'echo:ping');
    const before = await dnat6Packets(p6);
    assert.equal(await ask(`${V6('1')}::1`, p6), 'echo:ping');
    assert.ok(await dnat6Packets(p6) > before, 'the datagram to a host IPv6 address went through the DNAT rule');
  } finally {
    echo.kill();
  }
  await ok(['rm', '-f', 'udp6']);
});

test('ip6tables: masquerade and isolation for the IPv6 subnet, gone with the network', async () => {
  const { bridge } = await createNet('iso6', ['--ipv6', '--subnet', `10.239.${octet()}.0/24`, '--subnet', `${V6('5')}::/64`]);
  const dualBridge = `br-${(await netInspect('dual')).Id.slice(0, 12)}`;
  const rules = () => run('ip6tables-save', []).then((r) => r.stdout.split('\n').filter((l) => l.includes(bridge)));
  const now = await rules();
  assert.ok(now.some((l) => l.includes(`-s ${V6('5')}::/64 ! -o ${bridge}`) && l.includes('MASQUERADE')), now.join('\n'));
  assert.ok(now.some((l) => l.includes(`-i ${bridge} -o ${dualBridge}`) && l.includes('DROP')), now.join('\n'));
  assert.ok(now.some((l) => l.includes(`-i ${dualBridge} -o ${bridge}`) && l.includes('DROP')), now.join('\n'));
  // Isolation holds over IPv6 too: dual's containers do not reach iso6's.
  await ok(['run', '-d', '--name', 'isolated', '--network', 'iso6', 'busybox', 'sleep', '300']);
  const target = (await inspect('isolated')).NetworkSettings.Networks.iso6.GlobalIPv6Address;
  const dropped = async () => (await run('ip6tables', ['-w', '-L', 'FORWARD', '-v', '-n', '-x'])).stdout.split('\n')
    .filter((l) => l.includes('DROP') && new RegExp(`\\s${dualBridge}\\s+${bridge}\\s`).test(l))
    .reduce((a, l) => a + Number(l.trim().split(/\s+/)[0]), 0);
  const before = await dropped();
  const r = await d.docker(['run', '--rm', '--network', 'dual', 'busybox', 'ping', '-6', '-c', '1', '-W', '2', target]);
  assert.notEqual(r.code, 0, r.stdout);
  assert.ok(await dropped() > before, 'the ping was dropped by the isolation rule');
  await ok(['rm', '-f', 'isolated']);
  await ok(['network', 'rm', 'iso6']);
  assert.deepEqual(await rules(), []);
});

test('restart (live-restore): IPv6 allocations are kept; none is handed out twice; the container stays reachable by name', async () => {
  assert.equal(await d.stop(), 0);
  d = await TestDaemon.start({ dir: d.dir, args: [...ARGS, '--live-restore'] });
  try {
    await ok(['run', '-d', '--name', 'stay6', '--network', 'dual', 'busybox', 'sleep', '300']);
    const before = (await inspect('stay6')).NetworkSettings.Networks.dual.GlobalIPv6Address;
    assert.equal(await d.stop(), 0);
    d = await TestDaemon.start({ dir: d.dir, args: [...ARGS, '--live-restore'] });
    assert.equal((await inspect('stay6')).NetworkSettings.Networks.dual.GlobalIPv6Address, before);
    const net = await netInspect('dual');
    assert.deepEqual(Object.values(net.Containers).map((c: any) => c.IPv6Address), [`${before}/64`]);
    await ok(['run', '-d', '--name', 'new6', '--network', 'dual', 'busybox', 'sleep', '300']);
    const other = (await inspect('new6')).NetworkSettings.Networks.dual.GlobalIPv6Address;
    assert.ok(other && other !== before, `${other} ${before}`);
    const r = await ok(['exec', 'new6', 'sh', '-c', 'ping -6 -c 1 -W 5 stay6 && echo stay6-ok']);
    assert.match(r, /stay6-ok/);
    await ok(['rm', '-f', 'stay6', 'new6']);
  } finally {
    for (const n of ['stay6', 'new6']) await d.docker(['rm', '-f', n]);
    await d.stop();
    d = await TestDaemon.start({ dir: d.dir, args: ARGS });
  }
  // A restart without live-restore: the network and its IPv6 config come back.
  const net = await netInspect('dual');
  assert.equal(net.EnableIPv6, true);
  assert.equal(net.IPAM.Config[1].Subnet, `${V6('1')}::/64`);
});

test('after berthd is killed, the next start removes the ip6tables DNAT rules of the containers it finds dead', async () => {
  await ok(['run', '-d', '--name', 'killed6', '--network', 'dual', '-p', '80', 'busybox', 'sleep', '300']);
  const ip6 = (await inspect('killed6')).NetworkSettings.Networks.dual.GlobalIPv6Address;
  const dnat = async () => (await run('ip6tables-save', ['-t', 'nat'])).stdout.split('\n').filter((l) => l.includes(`--to-destination [${ip6}]:`));
  assert.ok((await dnat()).length > 0);
  await d.stop('SIGKILL');
  d = await TestDaemon.start({ dir: d.dir, args: ARGS });
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'killed6'])).trim(), 'false');
  assert.deepEqual(await dnat(), []);
  // Its address went back to the pool: the next container gets it.
  await ok(['run', '-d', '--name', 'heir6', '--network', 'dual', 'busybox', 'sleep', '300']);
  await ok(['rm', '-f', 'killed6']);
  const heir = (await inspect('heir6')).NetworkSettings.Networks.dual.GlobalIPv6Address;
  assert.equal(heir, ip6);
  await ok(['rm', '-f', 'heir6']);
});

test('without --ip6tables (dockerd 20.10\'s default) no ip6tables rule is made: :: is served by the proxy alone; --default-gateway-v6', async () => {
  const router6 = `${V6('e')}::fe`;
  const e = await TestDaemon.start({ args: ['--dns', '127.0.0.1', '--ipv6', '--fixed-cidr-v6', `${V6('e')}::/64`, '--default-gateway-v6', router6] });
  const eSince = new Date();
  const leaks: string[] = [];
  try {
    const r = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), e.socket]);
    assert.equal(r.code, 0, r.stderr);
    const eok = async (args: string[]) => { const x = await e.docker(args); assert.equal(x.code, 0, `docker ${args.join(' ')}: ${x.stderr}`); return x.stdout; };
    const id = (await eok(['network', 'create', '--ipv6', '--subnet', `10.235.${e.subnet.split('.')[2]}.0/24`, '--subnet', `${V6('f')}::/64`, 'plain6'])).trim();
    const bridge = `br-${id.slice(0, 12)}`;
    bridges.add(bridge);
    await eok(['run', '-d', '--name', 'p6', '--network', 'plain6', '-p', '80', 'busybox', ...HTTPD('proxy-six')]);
    const ins = JSON.parse(await eok(['inspect', 'p6']))[0];
    assert.ok(ins.NetworkSettings.Networks.plain6.GlobalIPv6Address.startsWith(`${V6('f')}::`));
    const p6 = Number((ins.NetworkSettings.Ports['80/tcp'] as Array<{ HostIp: string; HostPort: string }>).find((b) => b.HostIp === '::')!.HostPort);
    assert.match(await getEventually('::1', p6, 'proxy-six'), /proxy-six/);
    const six = (await run('ip6tables-save', [])).stdout.split('\n').filter((l) => l.includes(bridge) || l.includes(`berth:${e.bridge}`));
    assert.deepEqual(six, []);
    // IPv4 rules are there as ever.
    assert.ok((await run('iptables-save', [])).stdout.includes(`berth:${bridge}`));
    await eok(['rm', '-f', 'p6']);
    await eok(['network', 'rm', 'plain6']);
    // --default-gateway-v6: containers on the default bridge route IPv6 through it, and inspect shows it.
    const routes = await eok(['run', '--rm', 'busybox', 'ip', '-6', 'route']);
    assert.match(routes, new RegExp(`default via ${router6} dev eth0`));
    await eok(['run', '-d', '--name', 'gw6', 'busybox', 'sleep', '60']);
    const g = JSON.parse(await eok(['inspect', 'gw6']))[0].NetworkSettings;
    assert.equal(g.IPv6Gateway, router6);
    assert.equal(g.Networks.bridge.IPv6Gateway, router6);
    await eok(['rm', '-f', 'gw6']);
  } finally {
    for (const n of ['p6', 'gw6']) await e.docker(['rm', '-f', n]);
    await e.docker(['network', 'rm', 'plain6']);
    leaks.push(...await removeAllAndFindLeaks(e, eSince));
  }
  assert.deepEqual(leaks, []);
});

test('--ipv6 without --fixed-cidr-v6, or --default-gateway-v6 outside it: berthd does not start, with dockerd\'s reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-'));
  try {
    await writeFile(join(dir, 'daemon.json'), '{}');
    const r = await run(BERTHD, [...TestDaemon.flags(dir), '--ipv6'], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error creating default \\?"bridge\\?" network: could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network/);
    // --default-gateway-v6 outside --fixed-cidr-v6: no start either.
    const g = await run(BERTHD, [...TestDaemon.flags(dir), '--ipv6', '--fixed-cidr-v6', `${V6('a')}::/64`, '--default-gateway-v6', `${V6('b')}::1`], { timeoutMs: 30_000 });
    assert.notEqual(g.code, 0);
    assert.match(g.stderr, /Error creating default \\?"bridge\\?" network: default gateway ip must be part of the network/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
