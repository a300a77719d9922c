import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { join } from 'node:path';
import { TestDaemon, ROOT, run } from './harness.js';
import { removeAllAndFindLeaks, removeNetworks, startWithBusybox } from './container-fixture.js';

/**
 * User-defined bridge networks with the real CLI: create/ls/inspect/rm/prune, containers
 * finding each other by name and alias through the embedded DNS server, isolation between
 * networks, connect/disconnect, static addresses, persistence across a restart, and nothing
 * (bridge, veth, iptables rule) left at the end.
 */
let d: TestDaemon;
let since: Date;
/** Bridges of every network the tests made, checked gone at the end. */
const bridges = new Set<string>();

/**
 * Upstream resolver for names the networks do not know: loopback, where nothing listens, so no
 * test query ever leaves the host (the test that checks forwarding runs its own resolver).
 */
const ARGS = ['--dns', '127.0.0.1'];

before(async () => {
  since = new Date();
  d = await startWithBusybox({ args: ARGS });
});

after(async () => {
  const leaks = await removeNetworks(d);
  leaks.push(...await removeAllAndFindLeaks(d, since));
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  const rules = (await run('iptables-save', [])).stdout.split('\n');
  for (const b of bridges) {
    if (links.includes(`: ${b}:`)) { leaks.push(`bridge left: ${b}`); await run('ip', ['link', 'del', b]); }
    for (const r of rules.filter((l) => new RegExp(`\\b${b}\\b`).test(l))) leaks.push(`iptables rule left: ${r}`);
  }
  for (const r of rules.filter((l) => l.includes(`berth:${d.bridge}`) && !l.includes('MASQUERADE'))) leaks.push(`iptables rule left: ${r}`);
  assert.deepEqual(leaks, []);
});

/** The third octet the harness gave this daemon, so subnets differ between test processes. */
const octet = () => d.subnet.split('.')[2]!;
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function createNet(name: string, args: string[] = []): Promise<{ id: string; bridge: string }> {
  const id = (await ok(['network', 'create', ...args, name])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const bridge = JSON.parse(await ok(['network', 'inspect', name]))[0].Options['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`;
  bridges.add(bridge);
  return { id, bridge };
}

test('network create / ls / inspect / rm: subnet, gateway, ip-range, aux-address, labels, options; errors', async () => {
  const sub = `10.214.${octet()}.0/24`;
  const bname = `btu${octet()}x`;
  const { id } = await createNet('unet1', ['--subnet', sub, '--gateway', `10.214.${octet()}.254`, '--ip-range', `10.214.${octet()}.128/25`,
    '--aux-address', `reserved=10.214.${octet()}.128`, '--label', 'team=blue', '-o', `com.docker.network.bridge.name=${bname}`]);
  bridges.add(bname);
  const ins = JSON.parse(await ok(['network', 'inspect', 'unet1']))[0];
  assert.equal(ins.Id, id);
  assert.equal(ins.Driver, 'bridge');
  assert.equal(ins.Scope, 'local');
  assert.equal(ins.Internal, false);
  assert.deepEqual(ins.Labels, { team: 'blue' });
  assert.equal(ins.Options['com.docker.network.bridge.name'], bname);
  assert.deepEqual(ins.IPAM.Config, [{ Subnet: sub, Gateway: `10.214.${octet()}.254`, IPRange: `10.214.${octet()}.128/25`,
    AuxiliaryAddresses: { reserved: `10.214.${octet()}.128` } }]);
  assert.deepEqual(ins.Containers, {});
  // The bridge exists with the gateway's address.
  const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', bname]);
  assert.match(addr.stdout, new RegExp(`inet ${re(`10.214.${octet()}.254`)}/24`));
  // First address handed out: the range's first, past the aux address.
  const r = await d.docker(['run', '--rm', '--network', 'unet1', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`inet ${re(`10.214.${octet()}.129`)}/24`));

  const ls = await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}', '--filter', 'type=custom']);
  assert.deepEqual(ls.trim().split('\n'), ['unet1 bridge']);
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'label=team=blue'])).trim(), id.slice(0, 12));
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'dangling=true'])).trim(), id.slice(0, 12));
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'label=team=red'])).trim(), '');
  assert.equal(JSON.parse(await ok(['network', 'inspect', id.slice(0, 6)]))[0].Name, 'unet1');

  const dup = await d.docker(['network', 'create', 'unet1']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /network with name unet1 already exists/);
  const overlap = await d.docker(['network', 'create', '--subnet', `10.214.${octet()}.64/26`, 'unet-overlap']);
  assert.notEqual(overlap.code, 0);
  assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
  // One subnet per family, as dockerd's bridge driver: 403 and nothing made.
  const two = await d.request('POST', '/v1.41/networks/create', { body: { Name: 'unet-two', IPAM: { Config: [{ Subnet: `10.217.${octet()}.0/28` }, { Subnet: `10.217.${octet()}.16/28` }] } } });
  assert.equal(two.status, 403, two.body);
  assert.equal(two.json().message, 'bridge driver doesnt support multiple subnets');
  assert.notEqual((await d.docker(['network', 'inspect', 'unet-two'])).code, 0);
  const predefined = await d.docker(['network', 'create', 'host']);
  assert.notEqual(predefined.code, 0);
  assert.match(predefined.stderr, /operation is not permitted on predefined host network/);
  const gw = await d.docker(['network', 'create', '--subnet', `10.216.${octet()}.0/24`, '--gateway', '10.217.0.1', 'unet-badgw']);
  assert.notEqual(gw.code, 0);
  assert.match(gw.stderr, /no matching subnet for gateway 10\.217\.0\.1/);

  // Default pools: two networks without a subnet get different, non-overlapping /16s or /20s.
  await createNet('unet2');
  await createNet('unet3');
  const s2 = JSON.parse(await ok(['network', 'inspect', 'unet2']))[0].IPAM.Config[0];
  const s3 = JSON.parse(await ok(['network', 'inspect', 'unet3']))[0].IPAM.Config[0];
  assert.match(s2.Subnet, /^(172\.(1[7-9]|2\d|3[01])\.0\.0\/16|192\.168\.\d+\.0\/20)$/);
  assert.notEqual(s2.Subnet, s3.Subnet);
  assert.equal(s2.Gateway, s2.Subnet.replace(/0\/\d+$/, '1'));

  assert.equal((await ok(['network', 'rm', 'unet1', 'unet2', 'unet3'])).trim(), 'unet1\nunet2\nunet3');
  assert.notEqual((await run('ip', ['link', 'show', bname])).code, 0);
  const gone = await d.docker(['network', 'rm', 'unet1']);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /network unet1 not found/);
});

test('containers on a user network reach each other by name, alias and short ID through 127.0.0.11', async () => {
  await createNet('appnet', ['--subnet', `10.215.${octet()}.0/24`]);
  await ok(['run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'webalias', 'busybox', 'sh', '-c',
    'echo hello-by-name > /tmp/i; exec httpd -f -p 8000 -h /tmp']);
  const web = JSON.parse(await ok(['inspect', 'web']))[0];
  const ep = web.NetworkSettings.Networks.appnet;
  assert.ok(ep, JSON.stringify(web.NetworkSettings));
  assert.deepEqual(ep.Aliases, ['webalias', web.Id.slice(0, 12)]);
  assert.match(ep.IPAddress, new RegExp(`^${re(`10.215.${octet()}.`)}\\d+$`));
  assert.equal(ep.Gateway, `10.215.${octet()}.1`);
  assert.equal(web.NetworkSettings.IPAddress, '', 'top-level fields are for the default bridge only');
  const short = web.Id.slice(0, 12);
  const r = await d.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', [
    'cat /etc/resolv.conf',
    'nslookup web 2>&1',
    `nslookup ${ep.IPAddress} 2>&1`,
    'for n in web webalias ' + short + ' web.appnet; do ping -c 1 -W 5 $n >/dev/null && echo ping-$n-ok; done',
    `for i in 1 2 3 4 5; do printf 'GET /i HTTP/1.0\\r\\n\\r\\n' | nc web 8000 && break; sleep 1; done`,
  ].join('; ')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nameserver 127\.0\.0\.11$/m);
  assert.match(r.stdout, /options .*ndots:0/);
  assert.ok(r.stdout.includes(ep.IPAddress), r.stdout);
  assert.match(r.stdout, /name = web\.appnet/, 'PTR answer for the container\'s address');
  for (const n of ['web', 'webalias', short, 'web.appnet']) assert.match(r.stdout, new RegExp(`ping-${re(n)}-ok`), r.stdout);
  assert.match(r.stdout, /hello-by-name/);
  // A legacy link on a user network: its alias resolves for the linking container only.
  const linked = await d.docker(['run', '--rm', '--network', 'appnet', '--link', 'web:legacyname', 'busybox', 'sh', '-c',
    'ping -c 1 -W 5 legacyname >/dev/null && echo link-ok']);
  assert.match(linked.stdout, /link-ok/, linked.stderr);
  const unlinked = await d.docker(['run', '--rm', '--network', 'appnet', '--dns', '127.0.0.1', 'busybox', 'sh', '-c', 'nslookup legacyname || echo no-link']);
  assert.match(unlinked.stdout, /no-link/);
  // Unknown names in the network are not answered as ours.
  const miss = await d.docker(['run', '--rm', '--network', 'appnet', '--dns', '127.0.0.1', 'busybox', 'nslookup', 'nosuchcontainer']);
  assert.notEqual(miss.code, 0, miss.stdout);

  const nins = JSON.parse(await ok(['network', 'inspect', 'appnet']))[0];
  assert.equal(nins.Containers[web.Id].Name, 'web');
  assert.equal(nins.Containers[web.Id].IPv4Address, `${ep.IPAddress}/24`);
  const busy = await d.docker(['network', 'rm', 'appnet']);
  assert.notEqual(busy.code, 0);
  assert.match(busy.stderr, new RegExp(`error while removing network: network appnet id ${nins.Id} has active endpoints`));
  const busyApi = await d.request('DELETE', '/v1.41/networks/appnet');
  assert.equal(busyApi.status, 409, busyApi.body);
  assert.match(busyApi.json().message, /has active endpoints/);
  const ps = await ok(['ps', '--filter', 'network=appnet', '--format', '{{.Names}}']);
  assert.equal(ps.trim(), 'web');
  await ok(['rm', '-f', 'web']);
  await ok(['network', 'rm', 'appnet']);
});

test('the embedded DNS server forwards other names to the container\'s resolver, here one on loopback', async () => {
  const server = dgram.createSocket('udp4');
  const asked: string[] = [];
  server.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    asked.push(`${question.type} ${question.name}`);
    const answers = question.type === 'A' && question.name === 'outside.test'
      ? [{ type: 'A' as const, name: question.name, ttl: 60, class: 'IN' as const, data: '192.0.2.99' }] : [];
    server.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | (answers.length || question.type === 'AAAA' ? 0 : 3), questions: [question], answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.bind(53, '127.0.0.153', () => resolve()); });
  try {
    await createNet('fwdnet');
    const r = await d.docker(['run', '--rm', '--network', 'fwdnet', '--dns', '127.0.0.153', 'busybox', 'nslookup', 'outside.test']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /192\.0\.2\.99/);
    assert.ok(asked.includes('A outside.test'), asked.join(','));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await d.docker(['network', 'rm', 'fwdnet']);
  }
});

test('bridge networks are isolated from each other and from the default bridge', async () => {
  await createNet('isoa', ['--subnet', `10.216.${octet()}.0/24`]);
  await createNet('isob', ['--subnet', `10.217.${octet()}.0/24`]);
  await ok(['run', '-d', '--name', 'ina', '--network', 'isoa', 'busybox', 'sleep', '300']);
  const ipA = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.isoa.IPAddress}}', 'ina'])).trim();
  const same = await d.docker(['run', '--rm', '--network', 'isoa', 'busybox', 'ping', '-c', '1', '-W', '5', ipA]);
  assert.equal(same.code, 0, same.stdout);
  // --dns 127.0.0.1: a name the network does not know is forwarded there (nothing listens), never to the host's resolver.
  const other = await d.docker(['run', '--rm', '--network', 'isob', '--dns', '127.0.0.1', 'busybox', 'sh', '-c', `ping -c 1 -W 2 ${ipA} && echo PING-OK; nslookup ina || echo no-name`]);
  assert.doesNotMatch(other.stdout, /PING-OK/);
  assert.match(other.stdout, /no-name/);
  const dflt = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', `ping -c 1 -W 2 ${ipA} && echo PING-OK; true`]);
  assert.doesNotMatch(dflt.stdout, /PING-OK/);
  const rules = (await run('iptables', ['-w', '-S', 'FORWARD'])).stdout;
  const ba = JSON.parse(await ok(['network', 'inspect', 'isoa']))[0].Id.slice(0, 12);
  const bb = JSON.parse(await ok(['network', 'inspect', 'isob']))[0].Id.slice(0, 12);
  assert.match(rules, new RegExp(`-i br-${ba} -o ${d.bridge} .*berth:br-${ba}.* -j DROP`));
  // BERTH-USER (dockerd's DOCKER-USER) comes first: what the user puts there beats the isolation.
  assert.equal(rules.split('\n').find((l) => l.startsWith('-A ')), '-A FORWARD -j BERTH-USER');
  const allow = [['-i', `br-${bb}`, '-o', `br-${ba}`], ['-i', `br-${ba}`, '-o', `br-${bb}`]];
  for (const a of allow) assert.equal((await run('iptables', ['-w', '-I', 'BERTH-USER', '1', ...a, '-j', 'ACCEPT'])).code, 0);
  try {
    const allowed = await d.docker(['run', '--rm', '--network', 'isob', 'busybox', 'sh', '-c', `ping -c 1 -W 5 ${ipA} >/dev/null && echo PING-OK`]);
    assert.match(allowed.stdout, /PING-OK/);
  } finally {
    for (const a of allow) await run('iptables', ['-w', '-D', 'BERTH-USER', ...a, '-j', 'ACCEPT']);
  }
  await ok(['rm', '-f', 'ina']);
  await ok(['network', 'rm', 'isoa', 'isob']);
  const after = (await run('iptables-save', [])).stdout;
  assert.doesNotMatch(after, new RegExp(`br-${ba}`));
});

test('--internal: containers reach each other but nothing outside the network', async () => {
  const { bridge } = await createNet('inet', ['--internal', '--subnet', `10.218.${octet()}.0/24`]);
  assert.equal(JSON.parse(await ok(['network', 'inspect', 'inet']))[0].Internal, true);
  await ok(['run', '-d', '--name', 'intsrv', '--network', 'inet', 'busybox', 'sleep', '300']);
  const r = await d.docker(['run', '--rm', '--network', 'inet', 'busybox', 'sh', '-c',
    `ip route; ping -c 1 -W 5 intsrv >/dev/null && echo peer-ok; ping -c 1 -W 2 ${d.subnet.replace(/0\/24$/, '1')} >/dev/null && echo out-reached; true`]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /default via/);
  assert.match(r.stdout, /peer-ok/);
  assert.doesNotMatch(r.stdout, /out-reached/);
  const nat = (await run('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING'])).stdout;
  assert.doesNotMatch(nat, new RegExp(`berth:${bridge}`));
  await ok(['rm', '-f', 'intsrv']);
  await ok(['network', 'rm', 'inet']);
});

test('com.docker.network.bridge.enable_icc=false drops traffic between containers of the network', async () => {
  await createNet('noicc', ['--subnet', `10.223.${octet()}.0/24`, '-o', 'com.docker.network.bridge.enable_icc=false']);
  await ok(['run', '-d', '--name', 'lonely', '--network', 'noicc', 'busybox', 'sleep', '300']);
  const ip = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.noicc.IPAddress}}', 'lonely'])).trim();
  const r = await d.docker(['run', '--rm', '--network', 'noicc', 'busybox', 'sh', '-c',
    `ping -c 1 -W 5 10.223.${octet()}.1 >/dev/null && echo gw-ok; ping -c 1 -W 2 ${ip} >/dev/null && echo peer-reached; true`]);
  assert.match(r.stdout, /gw-ok/);
  assert.doesNotMatch(r.stdout, /peer-reached/);
  await ok(['rm', '-f', 'lonely']);
  await ok(['network', 'rm', 'noicc']);
});

test('connect and disconnect a running container, with --alias and --ip; a stopped one', async () => {
  await createNet('cna', ['--subnet', `10.219.${octet()}.0/24`]);
  await createNet('cnb', ['--subnet', `10.220.${octet()}.0/24`]);
  await ok(['run', '-d', '--name', 'mover', '--network', 'cna', 'busybox', 'sleep', '300']);
  const want = `10.220.${octet()}.50`;
  await ok(['network', 'connect', '--alias', 'extra', '--ip', want, 'cnb', 'mover']);
  const links = await ok(['exec', 'mover', 'sh', '-c', 'ip -4 -o addr show']);
  assert.match(links, new RegExp(`eth1 +inet ${re(want)}/24`));
  const ins = JSON.parse(await ok(['inspect', 'mover']))[0];
  assert.deepEqual(Object.keys(ins.NetworkSettings.Networks).sort(), ['cna', 'cnb']);
  assert.equal(ins.NetworkSettings.Networks.cnb.IPAddress, want);
  assert.deepEqual(ins.NetworkSettings.Networks.cnb.IPAMConfig, { IPv4Address: want });
  const r = await d.docker(['run', '--rm', '--network', 'cnb', 'busybox', 'sh', '-c', 'ping -c 1 -W 5 extra >/dev/null && echo alias-ok; ping -c 1 -W 5 mover >/dev/null && echo name-ok']);
  assert.match(r.stdout, /alias-ok/);
  assert.match(r.stdout, /name-ok/);
  // A link given at connect is a name for the linking container only.
  await ok(['run', '-d', '--name', 'linker', '--network', 'cna', 'busybox', 'sleep', '300']);
  await ok(['network', 'connect', '--link', 'mover:moverlink', 'cnb', 'linker']);
  const viaLink = await d.docker(['exec', 'linker', 'sh', '-c', 'ping -c 1 -W 5 moverlink >/dev/null && echo link-ok']);
  assert.match(viaLink.stdout, /link-ok/, viaLink.stderr);
  await ok(['rm', '-f', 'linker']);
  const again = await d.docker(['network', 'connect', 'cnb', 'mover']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /endpoint with name mover already exists in network cnb/);

  await ok(['network', 'disconnect', 'cnb', 'mover']);
  const after = await ok(['exec', 'mover', 'sh', '-c', 'ip -4 -o addr show']);
  assert.doesNotMatch(after, /eth1/);
  assert.deepEqual(Object.keys(JSON.parse(await ok(['inspect', 'mover']))[0].NetworkSettings.Networks), ['cna']);
  const gone = await d.docker(['run', '--rm', '--network', 'cnb', '--dns', '127.0.0.1', 'busybox', 'sh', '-c', 'ping -c 1 -W 2 extra && echo PING-OK; true']);
  assert.doesNotMatch(gone.stdout, /PING-OK/);
  const not = await d.docker(['network', 'disconnect', 'cnb', 'mover']);
  assert.notEqual(not.code, 0);
  assert.match(not.stderr, /is not connected to network cnb/);
  // The released address can be taken again.
  await ok(['run', '--rm', '--network', 'cnb', '--ip', want, 'busybox', 'true']);

  // A created (not running) container: connect records the network; start plugs both.
  await ok(['create', '--name', 'later', '--network', 'cna', 'busybox', 'sleep', '300']);
  await ok(['network', 'connect', 'cnb', 'later']);
  assert.deepEqual(Object.keys(JSON.parse(await ok(['inspect', 'later']))[0].NetworkSettings.Networks).sort(), ['cna', 'cnb']);
  await ok(['start', 'later']);
  const both = await ok(['exec', 'later', 'sh', '-c', 'ls /sys/class/net']);
  assert.deepEqual(both.trim().split('\n').sort(), ['eth0', 'eth1', 'lo']);
  await ok(['rm', '-f', 'mover', 'later']);
  await ok(['network', 'rm', 'cna', 'cnb']);
});

test('--ip: static addresses on user networks; refused on the default bridge and on networks without a subnet', async () => {
  await createNet('ipnet', ['--subnet', `10.221.${octet()}.0/24`]);
  await createNet('autonet');
  const want = `10.221.${octet()}.77`;
  await ok(['run', '-d', '--name', 'fixed', '--network', 'ipnet', '--ip', want, 'busybox', 'sleep', '300']);
  assert.match(await ok(['exec', 'fixed', 'ip', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${re(want)}/24`));
  const taken = await d.docker(['run', '--rm', '--network', 'ipnet', '--ip', want, 'busybox', 'true']);
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /Address already in use/);
  const outside = await d.docker(['run', '--rm', '--network', 'ipnet', '--ip', '10.99.99.99', 'busybox', 'true']);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /Invalid address 10\.99\.99\.99: It does not belong to any of this network's subnets/);
  const dflt = await d.docker(['run', '--rm', '--ip', want, 'busybox', 'true']);
  assert.notEqual(dflt.code, 0);
  assert.match(dflt.stderr, /user specified IP address is supported on user defined networks only/);
  const auto = await d.docker(['run', '--rm', '--network', 'autonet', '--ip', '172.30.0.5', 'busybox', 'true']);
  assert.notEqual(auto.code, 0);
  assert.match(auto.stderr, /user specified IP address is supported only when connecting to networks with user configured subnets/);
  // The CLI refuses this one itself; the daemon's answer, through the API:
  const alias = await d.request('POST', '/containers/create', { body: { Image: 'busybox', Cmd: ['true'],
    NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['x'] } } } } });
  assert.equal(alias.status, 400, alias.body);
  assert.match(alias.json().message, /network-scoped alias is supported only for containers in user defined networks/);
  const missing = await d.docker(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /network nosuchnet not found/);
  await ok(['rm', '-f', 'fixed']);
  await ok(['network', 'rm', 'ipnet', 'autonet']);
});

test('many containers started at once get distinct addresses and names; a restart keeps them reachable', async () => {
  await createNet('crowd', ['--subnet', `10.228.${octet()}.0/24`]);
  const names = Array.from({ length: 6 }, (_, i) => `crowd${i}`);
  const runs = await Promise.all(names.map((n) => d.docker(['run', '-d', '--name', n, '--network', 'crowd', 'busybox', 'sleep', '300'])));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const ips = await Promise.all(names.map(async (n) => (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.crowd.IPAddress}}', n])).trim()));
  assert.equal(new Set(ips).size, names.length, ips.join(' '));
  await ok(['restart', '-t', '0', 'crowd0']);
  const r = await d.docker(['exec', 'crowd1', 'sh', '-c', names.map((n) => `ping -c 1 -W 5 ${n} >/dev/null && echo ${n}-ok`).join('; ')]);
  for (const n of names) assert.match(r.stdout, new RegExp(`${n}-ok`), r.stdout + r.stderr);
  await ok(['rm', '-f', ...names]);
  await ok(['network', 'rm', 'crowd']);
});

test('network prune removes unused user networks only; network events', async () => {
  const t0 = Math.floor(Date.now() / 1000);
  await createNet('keepme');
  await createNet('pruneme', ['--label', 'tier=x']);
  await ok(['run', '-d', '--name', 'holder', '--network', 'keepme', 'busybox', 'sleep', '300']);
  const out = await ok(['network', 'prune', '-f']);
  assert.match(out, /pruneme/);
  assert.doesNotMatch(out, /keepme/);
  const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).trim().split('\n').sort();
  assert.deepEqual(names, ['bridge', 'host', 'keepme', 'none']);
  await ok(['rm', '-f', 'holder']);
  await ok(['network', 'rm', 'keepme']);
  const ev = await ok(['events', '--since', String(t0), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=network',
    '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  const lines = ev.trim().split('\n');
  for (const l of ['create keepme', 'create pruneme', 'connect keepme', 'disconnect keepme', 'destroy pruneme', 'destroy keepme', 'prune <no value>']) {
    assert.ok(lines.includes(l), `${l} not in ${ev}`);
  }
});

test('user networks and their address allocations survive a daemon restart', async () => {
  const { id } = await createNet('keepnet', ['--subnet', `10.222.${octet()}.0/24`, '--label', 'k=v']);
  await ok(['run', '-d', '--name', 'first', '--network', 'keepnet', 'busybox', 'sleep', '300']);
  await ok(['create', '--name', 'second', '--network', 'keepnet', 'busybox', 'sleep', '300']);
  await createNet('laternet', ['--subnet', `10.224.${octet()}.0/24`]);
  await ok(['network', 'connect', '--alias', 'sec', 'laternet', 'second']);
  const ip1 = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.keepnet.IPAddress}}', 'first'])).trim();
  assert.equal(await d.stop(), 0);
  d = await TestDaemon.start({ dir: d.dir, args: ARGS });
  const ins = JSON.parse(await ok(['network', 'inspect', 'keepnet']))[0];
  assert.equal(ins.Id, id);
  assert.deepEqual(ins.Labels, { k: 'v' });
  assert.equal(ins.IPAM.Config[0].Subnet, `10.222.${octet()}.0/24`);
  const sec = JSON.parse(await ok(['inspect', 'second']))[0].NetworkSettings.Networks;
  assert.deepEqual(Object.keys(sec).sort(), ['keepnet', 'laternet'], 'a connect of a stopped container is kept');
  assert.ok(sec.laternet.Aliases.includes('sec'));
  await ok(['start', 'first', 'second']);
  const ip1b = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.keepnet.IPAddress}}', 'first'])).trim();
  const ip2 = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.keepnet.IPAddress}}', 'second'])).trim();
  assert.ok(ip1b && ip2 && ip1b !== ip2, `${ip1b} ${ip2}`);
  assert.ok([ip1b, ip2].includes(ip1));
  const r = await d.docker(['run', '--rm', '--network', 'keepnet', 'busybox', 'sh', '-c', 'ping -c 1 -W 5 first >/dev/null && echo first-ok; ping -c 1 -W 5 second >/dev/null && echo second-ok']);
  assert.match(r.stdout, /first-ok/);
  assert.match(r.stdout, /second-ok/);
  const l = await d.docker(['run', '--rm', '--network', 'laternet', 'busybox', 'sh', '-c', 'ping -c 1 -W 5 sec >/dev/null && echo sec-ok']);
  assert.match(l.stdout, /sec-ok/);
  await ok(['rm', '-f', 'first', 'second']);
  await ok(['network', 'rm', 'keepnet', 'laternet']);
});

test('after berthd is killed, the next start removes the DNAT rules of the containers it finds dead', async () => {
  await ok(['run', '-d', '--name', 'killed', '-p', '80', 'busybox', 'sleep', '300']);
  const ip = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'killed'])).trim();
  const dnat = async () => (await run('iptables-save', ['-t', 'nat'])).stdout.split('\n').filter((l) => l.includes(`--to-destination ${ip}:`));
  assert.ok((await dnat()).length > 0);
  await d.stop('SIGKILL');
  d = await TestDaemon.start({ dir: d.dir, args: ARGS });
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'killed'])).trim(), 'false');
  assert.deepEqual(await dnat(), []);
  await ok(['rm', '-f', 'killed']);
});

test('--live-restore: a running container keeps its endpoint and address across a restart; DNS knows it', async () => {
  assert.equal(await d.stop(), 0);
  d = await TestDaemon.start({ dir: d.dir, args: [...ARGS, '--live-restore'] });
  try {
    await createNet('livenet', ['--subnet', `10.226.${octet()}.0/24`]);
    await ok(['run', '-d', '--name', 'stay', '--network', 'livenet', 'busybox', 'sleep', '300']);
    const ip1 = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.livenet.IPAddress}}', 'stay'])).trim();
    assert.equal(await d.stop(), 0);
    d = await TestDaemon.start({ dir: d.dir, args: [...ARGS, '--live-restore'] });
    assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'stay'])).trim(), 'true');
    const nins = JSON.parse(await ok(['network', 'inspect', 'livenet']))[0];
    assert.deepEqual(Object.values(nins.Containers).map((v: any) => v.IPv4Address), [`${ip1}/24`]);
    await ok(['run', '-d', '--name', 'newcomer', '--network', 'livenet', 'busybox', 'sleep', '300']);
    const ip2 = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.livenet.IPAddress}}', 'newcomer'])).trim();
    assert.notEqual(ip2, ip1, 'an address in use is not handed out again after a restart');
    const r = await ok(['exec', 'newcomer', 'sh', '-c', 'ping -c 1 -W 5 stay >/dev/null && echo stay-ok']);
    assert.match(r, /stay-ok/);
    await ok(['rm', '-f', 'stay', 'newcomer']);
    await ok(['network', 'rm', 'livenet']);
  } finally {
    for (const n of ['stay', 'newcomer']) await d.docker(['rm', '-f', n]);
    await d.stop();
    d = await TestDaemon.start({ dir: d.dir, args: ARGS });
  }
});

test('daemon flags: --icc=false and --ip on the default bridge, --default-address-pool for new networks', async () => {
  const n = octet();
  // The harness gives each daemon a 10.213.<n>.0/24 bridge; the second daemon's n is not known before it starts.
  const e = await TestDaemon.start({ args: [...ARGS, '--icc=false', '--ip', '127.0.0.1', '--default-address-pool', `base=10.225.${n}.0/24,size=28`] });
  const eSince = new Date();
  const leaks: string[] = [];
  try {
    const r0 = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), e.socket]);
    assert.equal(r0.code, 0, r0.stderr);
    const dk = async (args: string[]) => { const r = await e.docker(args); assert.equal(r.code, 0, r.stderr); return r.stdout; };
    await dk(['network', 'create', 'poola']);
    await dk(['network', 'create', 'poolb']);
    assert.equal(JSON.parse(await dk(['network', 'inspect', 'poola']))[0].IPAM.Config[0].Subnet, `10.225.${n}.0/28`);
    assert.equal(JSON.parse(await dk(['network', 'inspect', 'poolb']))[0].IPAM.Config[0].Subnet, `10.225.${n}.16/28`);
    for (const name of ['poola', 'poolb']) {
      const id = JSON.parse(await dk(['network', 'inspect', name]))[0].Id;
      bridges.add(`br-${id.slice(0, 12)}`);
    }
    await dk(['network', 'rm', 'poola', 'poolb']);
    await dk(['run', '-d', '--name', 'iccsrv', '-p', '80', 'busybox', 'sleep', '300']);
    const ip = (await dk(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'iccsrv'])).trim();
    const ports = JSON.parse(await dk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'iccsrv']));
    assert.equal(ports['80/tcp'][0].HostIp, '127.0.0.1');
    const gw = e.subnet.replace(/0\/24$/, '1');
    const r = await e.docker(['run', '--rm', 'busybox', 'sh', '-c', `ping -c 1 -W 5 ${gw} >/dev/null && echo gw-ok; ping -c 1 -W 2 ${ip} >/dev/null && echo peer-reached; true`]);
    assert.match(r.stdout, /gw-ok/);
    assert.doesNotMatch(r.stdout, /peer-reached/);
    assert.equal(JSON.parse(await dk(['network', 'inspect', 'bridge']))[0].Options['com.docker.network.bridge.enable_icc'], 'false');
  } finally {
    leaks.push(...await removeAllAndFindLeaks(e, eSince));
    const rules = (await run('iptables-save', [])).stdout.split('\n').filter((l) => l.includes(`berth:${e.bridge}`) && !l.includes('MASQUERADE'));
    leaks.push(...rules.map((l) => `iptables rule left: ${l}`));
  }
  assert.deepEqual(leaks, []);
});

test('--fixed-cidr and --default-gateway on the default bridge', async () => {
  const range = d.subnet.replace(/0\/24$/, '192/26');
  assert.equal(await d.stop(), 0);
  const router = d.subnet.replace(/0\/24$/, '254');
  d = await TestDaemon.start({ dir: d.dir, args: [...ARGS, '--fixed-cidr', range, '--default-gateway', router] });
  try {
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 addr show eth0; ip route']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`inet ${re(d.subnet.replace(/0\/24$/, '192'))}/24`));
    assert.match(r.stdout, new RegExp(`default via ${re(router)} dev eth0`), '--default-gateway');
    const ins = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
    assert.equal(ins.IPAM.Config[0].IPRange, range);
    // Inspect shows the router as the gateway, as dockerd does.
    await ok(['run', '-d', '--name', 'gw4', 'busybox', 'sleep', '60']);
    const c = JSON.parse(await ok(['inspect', 'gw4']))[0];
    assert.equal(c.NetworkSettings.Gateway, router);
    assert.equal(c.NetworkSettings.Networks.bridge.Gateway, router);
    await ok(['rm', '-f', 'gw4']);
  } finally {
    await d.stop();
  }
  // A default gateway outside the bridge's subnet (known from the bridge's address with -b):
  // networking refuses with dockerd's reason, and no container gets half set up.
  d = await TestDaemon.start({ dir: d.dir, args: [...ARGS, '--default-gateway', '10.99.99.1'] });
  try {
    const bad = await d.docker(['run', '--rm', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Error creating default "bridge" network: default gateway ip must be part of the network/);
  } finally {
    await d.stop();
  }
  d = await TestDaemon.start({ dir: d.dir, args: ARGS });
});

test('-b none: no default bridge network; user-defined networks still work', async () => {
  const e = await TestDaemon.start({ args: [...ARGS, '-b', 'none'] });
  const eSince = new Date();
  const leaks: string[] = [];
  try {
    const r0 = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), e.socket]);
    assert.equal(r0.code, 0, r0.stderr);
    const ls = await e.docker(['network', 'ls', '--format', '{{.Name}}']);
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['host', 'none']);
    const dflt = await e.docker(['run', '--rm', 'busybox', 'true']);
    assert.notEqual(dflt.code, 0);
    assert.match(dflt.stderr, /network bridge not found/);
    assert.doesNotMatch(dflt.stderr, /Unable to find image/);
    const id = (await e.docker(['network', 'create', '--subnet', `10.227.${octet()}.0/24`, 'onlynet'])).stdout.trim();
    bridges.add(`br-${id.slice(0, 12)}`);
    const r = await e.docker(['run', '--rm', '--network', 'onlynet', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`inet ${re(`10.227.${octet()}.2`)}/24`));
    assert.equal((await e.docker(['network', 'rm', 'onlynet'])).code, 0);
  } finally {
    leaks.push(...await removeAllAndFindLeaks(e, eSince));
  }
  assert.deepEqual(leaks, []);
});

test('--userland-proxy=false: published ports through iptables alone, loopback and hairpin included', async () => {
  const e = await TestDaemon.start({ args: [...ARGS, '--userland-proxy=false'] });
  const eSince = new Date();
  const leaks: string[] = [];
  try {
    const r0 = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), e.socket]);
    assert.equal(r0.code, 0, r0.stderr);
    const a = await e.docker(['run', '-d', '--name', 'noproxy', '-p', '127.0.0.1::80', '-p', '80', 'busybox', 'sh', '-c',
      'mkdir /w; echo via-dnat > /w/index.html; exec httpd -f -p 80 -h /w']);
    assert.equal(a.code, 0, a.stderr);
    const bindings = JSON.parse((await e.docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'noproxy'])).stdout)['80/tcp'] as Array<{ HostIp: string; HostPort: string }>;
    const port = Number(bindings.find((b) => b.HostIp === '127.0.0.1')!.HostPort);
    const open = Number(bindings.find((b) => b.HostIp === '0.0.0.0')!.HostPort);
    const counted = async () => (await run('iptables', ['-w', '-t', 'nat', '-L', 'OUTPUT', '-v', '-n', '-x'])).stdout.split('\n')
      .filter((l) => l.includes(`berth:${e.bridge}`) && l.includes(`dpt:${port} `)).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
    const before = await counted();
    let body = '';
    for (let i = 0; i < 50 && !body.includes('via-dnat'); i++) {
      body = await new Promise<string>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => sock.end('GET /index.html HTTP/1.0\r\n\r\n'));
        let out = '';
        sock.on('data', (c: Buffer) => { out += c; });
        sock.on('close', () => resolve(out));
        sock.on('error', () => resolve(''));
      });
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(body, /via-dnat/);
    assert.ok(await counted() > before, 'the connection to 127.0.0.1 went through DNAT');
    // Another container reaches the published port through the host's address on its bridge.
    const gw = e.subnet.replace(/0\/24$/, '1');
    const hp = await e.docker(['run', '--rm', 'busybox', 'sh', '-c', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc ${gw} ${open}`]);
    assert.match(hp.stdout, /via-dnat/, hp.stderr);
    assert.equal((await e.docker(['rm', '-f', 'noproxy'])).code, 0);
    const left = (await run('iptables-save', ['-t', 'nat'])).stdout.split('\n').filter((l) => l.includes(`berth:${e.bridge}`) && l.includes('DNAT'));
    assert.deepEqual(left, []);
  } finally {
    leaks.push(...await removeAllAndFindLeaks(e, eSince));
    const rules = (await run('iptables-save', [])).stdout.split('\n')
      .filter((l) => l.includes(`berth:${e.bridge}`) && !(l.includes('MASQUERADE') && l.includes(' -s ')));
    leaks.push(...rules.map((l) => `iptables rule left: ${l}`));
  }
  assert.deepEqual(leaks, []);
});
