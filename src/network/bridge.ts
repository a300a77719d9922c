import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type { Container } from '../container/container.js';
import type { NetworkProvider } from '../container/ports.js';
import { Conflict, InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import type { EndpointSettings, NetworkSettings } from '../types/container.js';
import { writeJsonAtomic } from '../lib/atomic.js';

/**
 * The default bridge network: a Linux bridge (config `-b`, else `berth0`) addressed from `--bip`
 * (else its existing address, else the first 172.17-31.0.0/16 not on a host route), one network
 * namespace per container bind-mounted at <exec-root>/netns/<id>, a veth pair with the container
 * end as eth0, addresses from a persisted allocator, MASQUERADE for the subnet, and published
 * ports served by a userland TCP proxy inside berthd (reachable on 127.0.0.1 without hairpin NAT).
 * Also `none`, `host` and `container:<id>`.
 *
 * iptables: one nat POSTROUTING rule per bridge, `-s <subnet> ! -o <bridge> -j MASQUERADE`,
 * tagged with the comment `berth:<bridge>` so it can be removed exactly.
 */
export interface BridgeOptions {
  dataRoot: string;
  execRoot: string;
  bridge: string;
  bip: string;
  mtu: number;
  iptables: boolean;
  ipMasq: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOpts: string[];
  lookup: (ref: string) => Container;
}

interface State {
  networkId: string;
  hostId?: string;
  noneId?: string;
  created?: string;
  /** container id → IPv4 address */
  allocations: Record<string, string>;
}

const HOSTS = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

export function emptyNetworkSettings(): NetworkSettings {
  return {
    Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: {}, SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '',
    Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '',
    MacAddress: '', Networks: {},
  };
}

function emptyEndpoint(): EndpointSettings {
  return { IPAMConfig: null, Links: null, Aliases: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
    IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null };
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err) reject(new SystemError(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

const ipToInt = (ip: string) => ip.split('.').reduce((a, b) => (a * 256) + Number(b), 0);
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
export function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}
export function parseCidr(cidr: string): { ip: string; prefix: number; base: number; size: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new InvalidParameter(`invalid CIDR address: ${cidr}`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipToInt(m[1]!) / size) * size;
  return { ip: m[1]!, prefix, base, size };
}

/** resolv.conf as dockerd builds it for a bridge network. */
export function resolvConf(host: string, dns: string[], search: string[], opts: string[]): string {
  const lines = host.split('\n');
  const servers = dns.length ? dns : lines.map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s)
    .filter((s) => !/^127\./.test(s) && s !== '::1' && !s.includes(':'));
  const other = lines.filter((l) => !/^\s*(nameserver|search|domain|options)\b/.test(l) && l.trim() !== '');
  const hostSearch = lines.map((l) => /^\s*search\s+(.*)$/.exec(l)?.[1]).filter((s): s is string => !!s).flatMap((s) => s.split(/\s+/));
  const hostOpts = lines.map((l) => /^\s*options\s+(.*)$/.exec(l)?.[1]).filter((s): s is string => !!s).flatMap((s) => s.split(/\s+/));
  const out = [...other];
  const srch = search.length ? search.filter((s) => s !== '.') : hostSearch;
  if (srch.length) out.push(`search ${srch.join(' ')}`);
  for (const s of servers.length ? servers : ['8.8.8.8', '8.8.4.4']) out.push(`nameserver ${s}`);
  const o = opts.length ? opts : hostOpts;
  if (o.length) out.push(`options ${o.join(' ')}`);
  return out.join('\n') + '\n';
}

/** A network as GET /networks/{id} shows it. */
export interface NetworkResource {
  Name: string; Id: string; Created: string; Scope: string; Driver: string; EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway?: string }> };
  Internal: boolean; Attachable: boolean; Ingress: boolean; ConfigFrom: { Network: string }; ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>; Labels: Record<string, string>;
}

export interface Networks extends NetworkProvider {
  /** The predefined networks: bridge, host, none. */
  list(): Promise<NetworkResource[]>;
  /** By full or partial ID or name, as dockerd's FindNetwork. */
  inspect(ref: string): Promise<NetworkResource>;
  close(): Promise<void>;
}

export function bridgeNetworks(o: BridgeOptions): Networks {
  const bridge = o.bridge || 'berth0';
  const stateFile = join(o.dataRoot, 'network', 'bridge.json');
  let state: State | undefined;
  let subnet: { ip: string; prefix: number; base: number; size: number } | undefined;
  let ready: Promise<void> | undefined;
  const proxies = new Map<string, Server[]>();
  /** Running endpoints by network name, for inspect's Containers. */
  const attached = new Map<string, Map<string, NetworkResource['Containers'][string]>>();
  const attach = (net: string, id: string, v: NetworkResource['Containers'][string]) => {
    if (!attached.has(net)) attached.set(net, new Map());
    attached.get(net)!.set(id, v);
  };
  const detach = (id: string) => { for (const m of attached.values()) m.delete(id); };

  async function resources(): Promise<NetworkResource[]> {
    const st = await load();
    await ensureBridge();
    const base = { Scope: 'local', EnableIPv6: false, Internal: false, Attachable: false, Ingress: false,
      ConfigFrom: { Network: '' }, ConfigOnly: false, Labels: {}, Created: st.created! };
    const containers = (net: string) => Object.fromEntries(attached.get(net) ?? []);
    return [
      { ...base, Name: 'bridge', Id: st.networkId, Driver: 'bridge',
        IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: `${intToIp(subnet!.base)}/${subnet!.prefix}`, Gateway: subnet!.ip }] },
        Containers: containers('bridge'),
        Options: {
          'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': String(o.ipMasq), 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': bridge, 'com.docker.network.driver.mtu': String(o.mtu || 1500),
        } },
      { ...base, Name: 'host', Id: st.hostId!, Driver: 'host', IPAM: { Driver: 'default', Options: null, Config: [] }, Containers: containers('host'), Options: {} },
      { ...base, Name: 'none', Id: st.noneId!, Driver: 'null', IPAM: { Driver: 'default', Options: null, Config: [] }, Containers: containers('none'), Options: {} },
    ];
  }

  // Saves are atomic (unique temp file, fsync, rename) and run one at a time, each writing
  // the state as it is then: concurrent requests never interleave two writes.
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    saving = saving.catch(() => {}).then(async () => {
      await mkdir(join(o.dataRoot, 'network'), { recursive: true });
      await writeJsonAtomic(stateFile, state);
    });
    return saving;
  };
  let loading: Promise<State> | undefined;
  const load = (): Promise<State> => (loading ??= loadOnce());
  const loadOnce = async (): Promise<State> => {
    if (state) return state;
    const text = await readFile(stateFile, 'utf8').catch(() => '');
    state = text ? JSON.parse(text) as State : { networkId: randomBytes(32).toString('hex'), allocations: {} };
    if (!state.hostId || !state.noneId || !state.created) {
      state.hostId ??= randomBytes(32).toString('hex');
      state.noneId ??= randomBytes(32).toString('hex');
      state.created ??= new Date().toISOString();
      await save();
    }
    return state;
  };

  async function pickSubnet(): Promise<string> {
    if (o.bip) return o.bip;
    const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge]).catch(() => '');
    const m = /inet (\S+)/.exec(addr);
    if (m) return m[1]!;
    const routes = (await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all'])).split('\n')
      .map((l) => /^(\d+\.\d+\.\d+\.\d+(?:\/\d+)?)/.exec(l)?.[1]).filter((r): r is string => !!r)
      .map((r) => parseCidr(r.includes('/') ? r : `${r}/32`));
    for (let i = 17; i < 32; i++) {
      const base = ipToInt(`172.${i}.0.0`);
      if (!routes.some((r) => r.base < base + 65536 && base < r.base + r.size)) return `172.${i}.0.1/16`;
    }
    throw new SystemError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }

  const ensureBridge = () => (ready ??= (async () => {
    await load();
    const cidr = await pickSubnet();
    subnet = parseCidr(cidr);
    const exists = await run('ip', ['link', 'show', 'dev', bridge]).then(() => true, () => false);
    const cmds: string[] = [];
    if (!exists) cmds.push(`link add name ${bridge} type bridge`);
    const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge]).catch(() => '');
    if (!addr.includes(`inet ${cidr} `) && !addr.includes(`inet ${subnet.ip}/${subnet.prefix}`)) cmds.push(`addr add ${subnet.ip}/${subnet.prefix} dev ${bridge}`);
    if (o.mtu) cmds.push(`link set dev ${bridge} mtu ${o.mtu}`);
    cmds.push(`link set dev ${bridge} up`);
    await run('ip', ['-batch', '-'], cmds.join('\n') + '\n');
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch(() => {});
    if (o.iptables && o.ipMasq) {
      const rule = ['-s', `${intToIp(subnet.base)}/${subnet.prefix}`, '!', '-o', bridge, '-m', 'comment', '--comment', `berth:${bridge}`, '-j', 'MASQUERADE'];
      const has = await run('iptables', ['-w', '-t', 'nat', '-C', 'POSTROUTING', ...rule]).then(() => true, () => false);
      if (!has) await run('iptables', ['-w', '-t', 'nat', '-A', 'POSTROUTING', ...rule]);
    }
  })().catch((err) => { ready = undefined; throw err; }));

  async function allocate(id: string, want?: string): Promise<string> {
    const st = await load();
    if (st.allocations[id]) return st.allocations[id]!;
    const used = new Set(Object.values(st.allocations));
    const gw = subnet!.ip;
    if (want) {
      if (used.has(want)) throw new Conflict(`Address already in use`);
      st.allocations[id] = want;
    } else {
      let found = '';
      for (let n = subnet!.base + 1; n < subnet!.base + subnet!.size - 1; n++) {
        const ip = intToIp(n);
        if (ip !== gw && !used.has(ip)) { found = ip; break; }
      }
      if (!found) throw new SystemError('no available IPv4 addresses on this network\'s address pools: bridge');
      st.allocations[id] = found;
    }
    await save();
    return st.allocations[id]!;
  }

  async function release(id: string): Promise<void> {
    const st = await load();
    if (!(id in st.allocations)) return;
    delete st.allocations[id];
    await save();
  }

  const mode = (c: Container) => c.HostConfig.NetworkMode || 'default';
  const isBridgeMode = (c: Container) => ['default', 'bridge'].includes(mode(c));
  const netnsPath = (c: Container) => join(o.execRoot, 'netns', c.ID.slice(0, 12));
  const hostVeth = (c: Container) => `veth${c.ID.slice(0, 7)}`;

  async function startProxies(c: Container, ip: string): Promise<NetworkSettings['Ports']> {
    const ports: NetworkSettings['Ports'] = {};
    const bindings = c.HostConfig.PortBindings ?? {};
    const exposed = Object.keys((c.Config.ExposedPorts ?? {}) as Record<string, unknown>);
    const servers: Server[] = [];
    proxies.set(c.ID, servers);
    const keys = new Set([...exposed, ...Object.keys(bindings)]);
    for (const key of keys) {
      const [portStr, proto = 'tcp'] = key.split('/');
      const list = (bindings as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>)[key]
        ?? (c.HostConfig.PublishAllPorts ? [{ HostIp: '', HostPort: '' }] : null);
      if (!list || !list.length) { ports[key] = null; continue; }
      if (proto !== 'tcp') throw new InvalidParameter(`publishing ${proto} ports is not supported by this berthd yet`);
      ports[key] = [];
      for (const b of list) {
        const hostIp = b.HostIp || '0.0.0.0';
        const srv = createServer((sock) => {
          const up = connect(Number(portStr), ip);
          sock.pipe(up).pipe(sock);
          const end = () => { sock.destroy(); up.destroy(); };
          sock.on('error', end); up.on('error', end);
        });
        const hostPort = Number(b.HostPort || 0);
        await new Promise<void>((resolve, reject) => {
          srv.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
            ? new SystemError(`driver failed programming external connectivity on endpoint ${c.Name.replace(/^\//, '')} (${c.NetworkSettings?.EndpointID ?? ''}): Bind for ${hostIp}:${hostPort} failed: port is already allocated`)
            : err));
          srv.listen(hostPort, hostIp, () => resolve());
        });
        servers.push(srv);
        const addr = srv.address();
        ports[key]!.push({ HostIp: hostIp, HostPort: String(typeof addr === 'object' && addr ? addr.port : hostPort) });
      }
    }
    return ports;
  }

  async function stopProxies(id: string): Promise<void> {
    for (const s of proxies.get(id) ?? []) await new Promise<void>((r) => s.close(() => r()));
    proxies.delete(id);
  }

  return {
    create: async (c, networking) => {
      const m = mode(c);
      if (m.startsWith('container:')) {
        const other = o.lookup(m.slice(10));
        if (other.ID === c.ID) throw new InvalidParameter('cannot join own network');
      } else if (!['default', 'bridge', 'none', 'host'].includes(m)) {
        throw new InvalidParameter(`network ${m} not found`);
      }
      const ns = emptyNetworkSettings();
      if (!m.startsWith('container:')) {
        const name = m === 'default' ? 'bridge' : m;
        const ep = { ...emptyEndpoint(), ...(networking?.EndpointsConfig?.[name] ?? {}) };
        if (name === 'bridge') { ep.NetworkID = (await load()).networkId; }
        ns.Networks[name] = ep;
      }
      c.NetworkSettings = ns;
      return [];
    },
    setup: async (c) => {
      const m = mode(c);
      if (m.startsWith('container:')) {
        const other = o.lookup(m.slice(10));
        if (!other.State.Running) throw new Conflict(`cannot join network of a non running container: ${other.ID}`);
        for (const [from, to] of [[other.HostsPath, c.HostsPath], [other.ResolvConfPath, c.ResolvConfPath], [other.HostnamePath, c.HostnamePath]] as const) {
          await writeFile(to, await readFile(from));
        }
        return { netnsPath: `/proc/${other.State.Pid}/ns/net` };
      }
      const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
      if (m === 'host') {
        attach('host', c.ID, { Name: c.Name.replace(/^\//, ''), EndpointID: randomBytes(32).toString('hex'), MacAddress: '', IPv4Address: '', IPv6Address: '' });
        await writeFile(c.HostsPath, await readFile('/etc/hosts', 'utf8').catch(() => HOSTS.join('\n') + '\n'));
        await writeFile(c.HostnamePath, `${hostHostname()}\n`);
        await writeFile(c.ResolvConfPath, hostResolv);
        return {};
      }
      const hostname = c.Config.Hostname || c.ID.slice(0, 12);
      const extra = (c.HostConfig.ExtraHosts ?? []).map((h) => { const i = h.indexOf(':'); return `${h.slice(i + 1)}\t${h.slice(0, i)}`; });
      await writeFile(c.HostnamePath, `${hostname}\n`);
      await writeFile(c.ResolvConfPath, resolvConf(hostResolv, c.HostConfig.Dns ?? o.dns, c.HostConfig.DnsSearch ?? o.dnsSearch, c.HostConfig.DnsOptions ?? o.dnsOpts));
      const path = netnsPath(c);
      await mkdir(join(o.execRoot, 'netns'), { recursive: true });
      await teardownNs(c);
      await writeFile(path, '');
      await run('unshare', [`--net=${path}`, 'true']);
      const ns = c.NetworkSettings ?? emptyNetworkSettings();
      c.NetworkSettings = ns;
      if (m === 'none') {
        await run('nsenter', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
        await writeFile(c.HostsPath, HOSTS.join('\n') + '\n' + extra.map((l) => l + '\n').join(''));
        Object.assign(ns, { SandboxID: randomBytes(32).toString('hex'), SandboxKey: path });
        attach('none', c.ID, { Name: c.Name.replace(/^\//, ''), EndpointID: randomBytes(32).toString('hex'), MacAddress: '', IPv4Address: '', IPv6Address: '' });
        return { netnsPath: path };
      }
      await ensureBridge();
      const ep = ns.Networks.bridge ?? emptyEndpoint();
      const ip = await allocate(c.ID, ep.IPAMConfig?.IPv4Address || undefined);
      const mac = (c.Config as { MacAddress?: string }).MacAddress || macOf(ip);
      const veth = hostVeth(c);
      const peer = `${veth}p`;
      const mtu = o.mtu ? ` mtu ${o.mtu}` : '';
      await run('ip', ['link', 'del', veth]).catch(() => {});
      await run('ip', ['-batch', '-'], [
        `link add name ${veth}${mtu} type veth peer name ${peer}${mtu}`,
        `link set dev ${veth} master ${bridge}`,
        `link set dev ${veth} up`,
        `link set dev ${peer} netns ${path}`,
      ].join('\n') + '\n');
      await run('nsenter', [`--net=${path}`, 'ip', '-batch', '-'], [
        `link set dev ${peer} name eth0`,
        `link set dev eth0 address ${mac}`,
        `addr add ${ip}/${subnet!.prefix} dev eth0`,
        'link set dev lo up',
        'link set dev eth0 up',
        `route add default via ${subnet!.ip}`,
      ].join('\n') + '\n');
      const links: string[] = [];
      for (const l of c.HostConfig.Links ?? []) {
        // "/other:/me/alias", as dockerd stores them
        const [target = '', alias = ''] = l.split(':');
        const other = o.lookup(target.replace(/^\//, ''));
        const otherIp = other.NetworkSettings?.Networks?.bridge?.IPAddress;
        if (!other.State.Running || !otherIp) throw new InvalidParameter(`Cannot link to a non running container: ${other.Name} AS ${alias}`);
        const name = alias.split('/').pop()!;
        const otherName = other.Name.replace(/^\//, '');
        links.push(`${otherIp}\t${[...new Set([name, other.Config.Hostname || other.ID.slice(0, 12), otherName])].join(' ')}`);
      }
      await writeFile(c.HostsPath, [...HOSTS, ...extra, ...links, `${ip}\t${hostname}`].join('\n') + '\n');
      const endpointId = randomBytes(32).toString('hex');
      Object.assign(ep, { NetworkID: (await load()).networkId, EndpointID: endpointId, Gateway: subnet!.ip, IPAddress: ip, IPPrefixLen: subnet!.prefix, MacAddress: mac });
      ns.Networks.bridge = ep;
      Object.assign(ns, { Bridge: '', SandboxID: randomBytes(32).toString('hex'), SandboxKey: path, EndpointID: endpointId,
        Gateway: subnet!.ip, IPAddress: ip, IPPrefixLen: subnet!.prefix, MacAddress: mac });
      attach('bridge', c.ID, { Name: c.Name.replace(/^\//, ''), EndpointID: endpointId, MacAddress: mac, IPv4Address: `${ip}/${subnet!.prefix}`, IPv6Address: '' });
      try {
        ns.Ports = await startProxies(c, ip);
      } catch (err) {
        await stopProxies(c.ID);
        throw err;
      }
      return { netnsPath: path };
    },
    teardown: async (c) => {
      detach(c.ID);
      await stopProxies(c.ID);
      if (c.HostConfig.NetworkMode === 'host' || mode(c).startsWith('container:')) return;
      await teardownNs(c);
      const ns = c.NetworkSettings;
      if (ns) {
        Object.assign(ns, { SandboxID: '', SandboxKey: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', Ports: {} });
        for (const ep of Object.values(ns.Networks)) Object.assign(ep, { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' });
      }
      await release(c.ID);
    },
    remove: async (c) => {
      // A container removed without a teardown (--rm found dead at restore) still has its namespace.
      detach(c.ID);
      await stopProxies(c.ID);
      if (c.HostConfig.NetworkMode !== 'host' && !mode(c).startsWith('container:')) await teardownNs(c);
      await release(c.ID);
    },
    restore: async (c) => {
      const ns = c.NetworkSettings;
      const ip = ns?.Networks?.bridge?.IPAddress;
      if (!ns || !ip || !isBridgeMode(c)) return;
      await ensureBridge();
      await allocate(c.ID, ip);
      attach('bridge', c.ID, { Name: c.Name.replace(/^\//, ''), EndpointID: ns.EndpointID, MacAddress: ns.MacAddress, IPv4Address: `${ip}/${subnet!.prefix}`, IPv6Address: '' });
      await stopProxies(c.ID);
      ns.Ports = await startProxies(c, ip);
    },
    view: (c) => c.NetworkSettings ?? emptyNetworkSettings(),
    list: () => resources(),
    inspect: async (ref) => {
      const all = await resources();
      const found = all.find((n) => n.Id === ref) ?? all.find((n) => n.Name === ref)
        ?? (ref ? all.filter((n) => n.Id.startsWith(ref)) : []).at(0);
      if (!found) throw new NotFound(`network ${ref} not found`);
      return found;
    },
    close: async () => { for (const id of [...proxies.keys()]) await stopProxies(id); },
  };

  async function teardownNs(c: Container): Promise<void> {
    const path = netnsPath(c);
    await run('ip', ['link', 'del', hostVeth(c)]).catch(() => {});
    await run('umount', [path]).catch(() => {});
    await rm(path, { force: true });
  }
}

