import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type { Container } from '../container/container.js';
import { Conflict, Forbidden, InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import { writeJsonAtomic } from '../lib/atomic.js';
import type { EndpointSettings, NetworkingConfig, NetworkSettings } from '../types/container.js';
import { applyRules, deleteBridge, ensureBridge, ensureUserChain, removeRules, removeRulesButMasquerade, type BridgeNet } from './bridge.js';
import { DnsServer } from './dns.js';
import { HOSTS, hostsFile, nameservers, resolvConf } from './etc.js';
import { cidrString, cidr6String, configuredPools, contains, contains6, defaultPools, ipv6FromMac, isIPv6, macOf, overlaps, overlaps6, parseCidr, parseCidr6, parseIPv6,
  pickPool, Pool, Pool6, type Cidr, type PoolConfig } from './ipam.js';
import { PortProxies } from './proxy.js';
import { linkEnv } from './links.js';
import { addRules as addPortRules, dnatRules, removeRules as removePortRules } from './ports.js';
import { removeWhere, type Rule } from './iptables.js';
import { run } from './run.js';
import { addInterface, destroyNetns, removeInterface, setDefaultRoute, setDnsRedirect, type PooledVeth } from './sandbox.js';
import { NetnsPool } from './netns-pool.js';
import type { NetworkCreate, NetworkResource, Networks, NetworksOptions } from './types.js';

/** A network as the controller holds it: the persisted record and what runs for it. */
interface Net {
  id: string;
  name: string;
  driver: 'bridge' | 'host' | 'null';
  created: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipam: NetworkResource['IPAM'];
  /** The IPAM config came from the user (static addresses are allowed only then). */
  userSubnet: boolean;
  predefined: boolean;
  bridge?: string;
  pool?: Pool;
  /** The IPv6 pool of a network with IPv6. */
  pool6?: Pool6;
  /** The default bridge with a --fixed-cidr-v6 of /80 or wider: IPv6 addresses are made from the MAC, as dockerd's. */
  macV6?: boolean;
  icc: boolean;
  masquerade: boolean;
  mtu: number;
  dns?: DnsServer;
}

/** An endpoint: a container's interface on a network, while the container runs. */
interface Endpoint {
  net: Net;
  ip: string;
  ip6?: string;
  mac: string;
  id: string;
  ifname: string;
  hostVeth: string;
  aliases: string[];
}

/** The default bridge's state file (bridge.json), as the first slice wrote it. */
interface DefaultState {
  networkId: string;
  hostId?: string;
  noneId?: string;
  created?: string;
  allocations: Record<string, string>;
  allocations6?: Record<string, string>;
}

/** A user-defined network's record, `<data-root>/network/networks/<id>.json`. */
interface NetRecord {
  Id: string; Name: string; Created: string; Driver: 'bridge'; Internal: boolean; Attachable: boolean; EnableIPv6: boolean;
  Labels: Record<string, string>; Options: Record<string, string>; IPAM: NetworkResource['IPAM']; UserSubnet: boolean;
  Bridge: string; Allocations: Record<string, string>; Allocations6?: Record<string, string>;
}

const OPT = {
  name: 'com.docker.network.bridge.name',
  icc: 'com.docker.network.bridge.enable_icc',
  masq: 'com.docker.network.bridge.enable_ip_masquerade',
  mtu: 'com.docker.network.driver.mtu',
  hostIp: 'com.docker.network.bridge.host_binding_ipv4',
} as const;

const PREDEFINED = ['bridge', 'host', 'none'];
/** An endpoint's addresses once it is gone, at the top of NetworkSettings and in each network's settings. */
const UNSET = { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPv6Gateway: '' };
const BAD_DEFAULT_GATEWAY = 'default gateway ip must be part of the network';
/** dockerd's words when the default bridge cannot be made. */
const defaultBridgeFailed = (reason: string) => new SystemError(`Error creating default "bridge" network: ${reason}`);
const NO_V6_POOL = 'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network';
const NO_SUBNET_IP = 'user specified IP address is supported only when connecting to networks with user configured subnets';
const HOST_LINKS = 'conflicting options: host type networking can\'t be used with links. This would result in undefined behavior';
const bare = (name: string) => name.replace(/^\//, '');
const newId = () => randomBytes(32).toString('hex');

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

const boolOpt = (v: string | undefined, def: boolean) => (v === undefined || v === '' ? def : !['false', '0', 'f', 'F', 'FALSE', 'False'].includes(v));

/**
 * The network controller: the predefined networks (bridge, host, none), user-defined bridge
 * networks, and each container's sandbox and endpoints on them. It is the container
 * service's NetworkProvider and the /networks routes' backend.
 */
export class NetworkController implements Networks {
  readonly #o: NetworksOptions;
  readonly #nets = new Map<string, Net>();
  readonly #endpoints = new Map<string, Map<string, Endpoint>>();
  /** Containers on host and none, for inspect's Containers. */
  readonly #special = new Map<string, Map<string, { endpointId: string; name: string }>>();
  readonly #proxies = new PortProxies();
  /** DNAT rules of each container's published ports. */
  readonly #dnat = new Map<string, Rule[]>();
  readonly #saves = new Map<string, Promise<void>>();
  /** Namespaces made ahead for bridge starts. */
  readonly #pool: NetnsPool;
  /**
   * A stopped container's veths and namespace, going after the stop is answered (a veth's
   * deletion waits for the kernel's RCU grace period, ~20 ms); its addresses stay taken until
   * its veths are gone. Per container, in order; its next start waits for it.
   */
  readonly #teardowns = new Map<string, Promise<void>>();
  #defaultState?: DefaultState;
  #ready?: Promise<void>;
  #hostResolv = '';

  constructor(o: NetworksOptions) {
    // As dockerd, which fails to start: the default bridge can have IPv6 only on a subnet given.
    if (o.ipv6 && !o.fixedCidrV6 && o.bridge !== 'none') throw defaultBridgeFailed(NO_V6_POOL);
    if (o.ipv6 && o.fixedCidrV6 && o.defaultGatewayV6 && o.bridge !== 'none' && !contains6(parseCidr6(o.fixedCidrV6), o.defaultGatewayV6)) {
      throw defaultBridgeFailed(BAD_DEFAULT_GATEWAY);
    }
    this.#o = o;
    this.#pool = new NetnsPool(join(o.execRoot, 'netns-pool'), o.log ? { log: o.log } : {});
  }

  get #dir(): string { return join(this.#o.dataRoot, 'network'); }
  get #bridgeName(): string { return this.#o.bridge || 'berth0'; }

  // ---------------------------------------------------------------- start-up

  #init(): Promise<void> {
    // The pool fills from the first bridge start on: a daemon whose containers never use a
    // bridge keeps no namespace in reserve.
    this.#ready ??= this.#pool.sweep().then(() => this.#load()).catch((err: unknown) => { this.#ready = undefined; throw err; });
    return this.#ready;
  }

  async #load(): Promise<void> {
    const file = join(this.#dir, 'bridge.json');
    const text = await readFile(file, 'utf8').catch(() => '');
    let st: DefaultState;
    try { st = text ? JSON.parse(text) as DefaultState : { networkId: newId(), allocations: {} }; } catch { st = { networkId: newId(), allocations: {} }; }
    const fresh = !text || !st.hostId || !st.noneId || !st.created;
    st.hostId ??= newId();
    st.noneId ??= newId();
    st.created ??= new Date().toISOString();
    st.allocations ??= {};
    this.#defaultState = st;
    if (fresh) await this.#saveDefault();
    const base = { created: st.created, internal: false, attachable: false, enableIPv6: false, labels: {}, userSubnet: false,
      predefined: true, icc: true, masquerade: false, mtu: 0 };
    this.#nets.set(st.hostId, { ...base, id: st.hostId, name: 'host', driver: 'host', options: {}, ipam: { Driver: 'default', Options: null, Config: [] } });
    this.#nets.set(st.noneId, { ...base, id: st.noneId, name: 'none', driver: 'null', options: {}, ipam: { Driver: 'default', Options: null, Config: [] } });
    // User-defined networks first: the default bridge's pool must not take theirs.
    const dir = join(this.#dir, 'networks');
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      try {
        const r = JSON.parse(await readFile(join(dir, f), 'utf8')) as NetRecord;
        const net = this.#fromRecord(r);
        this.#nets.set(net.id, net);
      } catch (err) {
        this.#o.log?.warn({ err, file: f }, 'skipping a damaged network record');
      }
    }
    // `-b none`: no default bridge network at all, as dockerd.
    if (this.#o.bridge === 'none') {
      await this.#sweep();
      for (const n of this.#bridges()) await this.#up(n);
      return;
    }
    const cidr = await this.#defaultBridgeCidr();
    const sub = parseCidr(cidr);
    const v6 = await this.#defaultBridgeV6(st);
    // As dockerd's bridge set-up: the default gateway lies in the bridge's subnet. (Known only
    // now, from the bridge's address with `-b`: the first use of networking fails, not the start.)
    if (this.#o.defaultGateway && !contains(sub, this.#o.defaultGateway)) throw defaultBridgeFailed(BAD_DEFAULT_GATEWAY);
    const bridge: Net = {
      ...base, id: st.networkId, name: 'bridge', driver: 'bridge', bridge: this.#bridgeName,
      ...(v6.pool6 ? { pool6: v6.pool6, macV6: v6.macV6, enableIPv6: true } : {}),
      icc: this.#o.icc ?? true, masquerade: this.#o.ipMasq, mtu: this.#o.mtu || 0,
      pool: new Pool({ Subnet: cidrString(sub), Gateway: sub.ip, ...(this.#o.fixedCidr ? { IPRange: this.#o.fixedCidr } : {}) }, st.allocations),
      ipam: { Driver: 'default', Options: null, Config: [{ Subnet: cidrString(sub), Gateway: sub.ip, ...(this.#o.fixedCidr ? { IPRange: this.#o.fixedCidr } : {}) },
        ...(v6.pool6 ? [{ Subnet: cidr6String(v6.pool6.subnet), ...(v6.gateway6 ? { Gateway: v6.gateway6 } : {}) }] : [])] },
      options: {
        'com.docker.network.bridge.default_bridge': 'true', [OPT.icc]: String(this.#o.icc ?? true),
        [OPT.masq]: String(this.#o.ipMasq), [OPT.hostIp]: this.#o.hostIp || '0.0.0.0', [OPT.name]: this.#bridgeName, [OPT.mtu]: String(this.#o.mtu || 1500),
      },
    };
    this.#nets.set(bridge.id, bridge);
    await this.#sweep();
    for (const n of this.#bridges()) await this.#up(n);
  }

  /**
   * The default bridge's IPv6 (`--ipv6`): its pool is `--fixed-cidr-v6`, which dockerd needs,
   * having no default IPv6 pool; an IPv6 address already on the bridge inside it stays the gateway.
   */
  async #defaultBridgeV6(st: DefaultState): Promise<{ pool6?: Pool6; macV6?: boolean; gateway6?: string }> {
    if (!this.#o.ipv6) return {};
    if (!this.#o.fixedCidrV6) throw defaultBridgeFailed(NO_V6_POOL);
    const sub = parseCidr6(this.#o.fixedCidrV6);
    const addrs = await run('ip', ['-6', '-o', 'addr', 'show', 'dev', this.#bridgeName, 'scope', 'global']).catch(() => '');
    const gateway6 = [...addrs.matchAll(/inet6 ([0-9a-f:]+)\//g)].map((m) => m[1]!).find((ip) => contains6(sub, ip));
    const pool6 = new Pool6({ Subnet: cidr6String(sub), ...(gateway6 ? { Gateway: gateway6 } : {}) }, st.allocations6 ?? {});
    return { pool6, macV6: sub.prefix <= 80, gateway6 };
  }

  /** Releases the addresses of containers removed while the daemon was away. */
  async #sweep(): Promise<void> {
    for (const n of this.#bridges()) {
      let changed = false;
      for (const owner of new Set([...n.pool!.allocations.keys(), ...(n.pool6?.allocations.keys() ?? [])])) {
        try {
          this.#o.lookup(owner);
        } catch (err) {
          if (!(err instanceof NotFound)) return; // the containers are not open yet: nothing to compare with
          n.pool!.release(owner);
          n.pool6?.release(owner);
          changed = true;
        }
      }
      if (changed) await this.#save(n);
    }
  }

  #fromRecord(r: NetRecord): Net {
    const cfg = r.IPAM.Config.find((c) => !c.Subnet.includes(':')) as PoolConfig;
    const cfg6 = r.IPAM.Config.find((c) => c.Subnet.includes(':')) as PoolConfig | undefined;
    return {
      ...(r.EnableIPv6 && cfg6 ? { pool6: new Pool6(cfg6, r.Allocations6 ?? {}) } : {}),
      id: r.Id, name: r.Name, driver: 'bridge', created: r.Created, internal: r.Internal, attachable: r.Attachable,
      enableIPv6: r.EnableIPv6, labels: r.Labels ?? {}, options: r.Options ?? {}, ipam: r.IPAM, userSubnet: r.UserSubnet,
      predefined: false, bridge: r.Bridge, pool: new Pool(cfg, r.Allocations ?? {}),
      icc: boolOpt(r.Options?.[OPT.icc], true), masquerade: boolOpt(r.Options?.[OPT.masq], true),
      mtu: Number(r.Options?.[OPT.mtu] ?? 0) || this.#o.mtu || 0,
    };
  }

  #record(n: Net): NetRecord {
    return {
      Id: n.id, Name: n.name, Created: n.created, Driver: 'bridge', Internal: n.internal, Attachable: n.attachable,
      EnableIPv6: n.enableIPv6, Labels: n.labels, Options: n.options, IPAM: n.ipam, UserSubnet: n.userSubnet,
      Bridge: n.bridge!, Allocations: n.pool!.toJSON(), ...(n.pool6 ? { Allocations6: n.pool6.toJSON() } : {}),
    };
  }

  /** --bip, else the address already on the bridge, else the first free default pool. */
  async #defaultBridgeCidr(): Promise<string> {
    if (this.#o.bip) return this.#o.bip;
    const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', this.#bridgeName]).catch(() => '');
    const m = /inet (\S+)/.exec(addr);
    if (m) return m[1]!;
    const net = parseCidr(pickPool(await this.#taken(), this.#pools()));
    return `${net.ip.replace(/\.0$/, '.1')}/${net.prefix}`;
  }

  #pools(): Iterable<string> {
    return this.#o.defaultAddressPools?.length ? configuredPools(this.#o.defaultAddressPools) : defaultPools();
  }

  /** Subnets in use: our networks' and the host's routes. */
  async #taken(): Promise<Cidr[]> {
    const routes = (await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']).catch(() => '')).split('\n')
      .map((l) => /^(\d+\.\d+\.\d+\.\d+(?:\/\d+)?)/.exec(l)?.[1]).filter((r): r is string => !!r)
      .map((r) => parseCidr(r.includes('/') ? r : `${r}/32`));
    return [...routes, ...[...this.#nets.values()].filter((n) => n.pool).map((n) => n.pool!.subnet)];
  }

  #bridges(): Net[] { return [...this.#nets.values()].filter((n) => n.driver === 'bridge'); }

  #spec(n: Net): BridgeNet {
    const p = n.pool!;
    const p6 = n.pool6;
    return { bridge: n.bridge!, subnet: cidrString(p.subnet), gateway: p.gateway, prefix: p.prefix, mtu: n.mtu || undefined,
      internal: n.internal, masquerade: n.masquerade, icc: n.icc, ipForward: this.#o.ipForward, hairpin: this.#o.userlandProxy === false && this.#o.iptables,
      ...(p6 ? { v6: { subnet: cidr6String(p6.subnet), gateway: p6.gateway, prefix: p6.prefix } } : {}), ip6tables: !!this.#o.ip6tables };
  }

  /** The bridge, its rules and (user-defined networks) its DNS server. */
  async #up(n: Net): Promise<void> {
    await ensureBridge(this.#spec(n));
    if (this.#o.iptables) {
      await applyRules(this.#spec(n), this.#bridges().filter((o) => o !== n).map((o) => o.bridge!));
      // Every berthd on the host keeps BERTH-USER first; a race with another one is no failure.
      await ensureUserChain().catch((err: unknown) => this.#o.log?.warn({ err }, 'BERTH-USER chain'));
    }
    if (!n.predefined && !n.dns) {
      n.dns = await DnsServer.listen(n.pool!.gateway, this.#dnsScope(), (err) => this.#o.log?.debug({ err, network: n.name }, 'embedded DNS'))
        .catch((err: unknown) => { this.#o.log?.warn({ err, network: n.name }, 'embedded DNS server did not start'); return undefined; });
    }
  }

  // ---------------------------------------------------------------- persistence

  #queue(key: string, write: () => Promise<void>): Promise<void> {
    const next = (this.#saves.get(key) ?? Promise.resolve()).catch(() => {}).then(write);
    this.#saves.set(key, next);
    return next;
  }

  #saveDefault(): Promise<void> {
    return this.#queue('bridge', async () => {
      await mkdir(this.#dir, { recursive: true });
      await writeJsonAtomic(join(this.#dir, 'bridge.json'), this.#defaultState);
    });
  }

  #save(n: Net): Promise<void> {
    if (n.predefined) {
      if (n.pool) this.#defaultState!.allocations = n.pool.toJSON();
      if (n.pool6) this.#defaultState!.allocations6 = n.pool6.toJSON();
      return this.#saveDefault();
    }
    return this.#queue(n.id, async () => {
      if (!this.#nets.has(n.id)) return;
      await mkdir(join(this.#dir, 'networks'), { recursive: true });
      await writeJsonAtomic(join(this.#dir, 'networks', `${n.id}.json`), this.#record(n));
    });
  }

  // ---------------------------------------------------------------- lookups

  /** dockerd's FindNetwork: full ID, then name, then a unique ID prefix. */
  #find(ref: string): Net {
    const all = [...this.#nets.values()];
    const found = all.find((n) => n.id === ref) ?? all.find((n) => n.name === ref);
    if (found) return found;
    const partial = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (partial.length === 1) return partial[0]!;
    if (partial.length > 1) throw new InvalidParameter(`network ${ref} is ambiguous (${partial.length} matches found based on ID prefix)`);
    throw new NotFound(`network ${ref} not found`);
  }

  #netOf(name: string, ep: EndpointSettings | undefined): Net | undefined {
    return (ep?.NetworkID ? this.#nets.get(ep.NetworkID) : undefined) ?? [...this.#nets.values()].find((n) => n.name === name);
  }

  #eps(id: string): Map<string, Endpoint> {
    let m = this.#endpoints.get(id);
    if (!m) { m = new Map(); this.#endpoints.set(id, m); }
    return m;
  }

  #containersOf(n: Net): NetworkResource['Containers'] {
    const out: NetworkResource['Containers'] = {};
    if (n.driver !== 'bridge') {
      for (const [id, v] of this.#special.get(n.name) ?? []) out[id] = { Name: v.name, EndpointID: v.endpointId, MacAddress: '', IPv4Address: '', IPv6Address: '' };
      return out;
    }
    for (const [cid, eps] of this.#endpoints) {
      const ep = eps.get(n.id);
      if (!ep) continue;
      let name = '';
      try { name = bare(this.#o.lookup(cid).Name); } catch { /* removed meanwhile */ }
      out[cid] = { Name: name, EndpointID: ep.id, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${n.pool!.prefix}`,
        IPv6Address: ep.ip6 && n.pool6 ? `${ep.ip6}/${n.pool6.prefix}` : '' };
    }
    return out;
  }

  #resource(n: Net): NetworkResource {
    return {
      Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver, EnableIPv6: n.enableIPv6,
      IPAM: n.ipam, Internal: n.internal, Attachable: n.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: this.#containersOf(n), Options: n.options, Labels: n.labels,
    };
  }

  // ---------------------------------------------------------------- the /networks backend

  async list(): Promise<NetworkResource[]> {
    await this.#init();
    return [...this.#nets.values()].map((n) => this.#resource(n));
  }

  async inspect(ref: string): Promise<NetworkResource> {
    await this.#init();
    return this.#resource(this.#find(ref));
  }

  async createNetwork(body: NetworkCreate): Promise<{ Id: string; Warning: string }> {
    await this.#init();
    const name = body.Name ?? '';
    if (!name) throw new InvalidParameter('network name is required');
    if (PREDEFINED.includes(name)) throw new Forbidden(`operation is not permitted on predefined ${name} network `);
    const driver = body.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new Forbidden(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw new NotFound(`plugin "${driver}" not found`);
    if (body.CheckDuplicate && [...this.#nets.values()].some((n) => n.name === name)) {
      throw new Conflict(`network with name ${name} already exists`);
    }
    const ipamDriver = body.IPAM?.Driver || 'default';
    if (ipamDriver !== 'default') throw new NotFound(`plugin "${ipamDriver}" not found`);
    // A config is IPv6 by its subnet, or without one by its gateway or range (as dockerd's getIpamConfig).
    const isV6 = (c: { Subnet?: string; Gateway?: string; IPRange?: string }) => (c.Subnet || c.Gateway || c.IPRange || '').includes(':');
    const configs = (body.IPAM?.Config ?? []).filter((c) => !isV6(c));
    const configs6 = (body.IPAM?.Config ?? []).filter((c) => isV6(c));
    // As dockerd's bridge driver: one subnet per family.
    if (configs.length > 1 || configs6.length > 1) throw new Forbidden('bridge driver doesnt support multiple subnets');
    const enableIPv6 = !!body.EnableIPv6;
    // No default IPv6 pool, as dockerd's default IPAM: IPv6 needs a subnet of the user's.
    if (enableIPv6 && !configs6[0]?.Subnet) throw new SystemError(NO_V6_POOL);
    const options = { ...(body.Options ?? {}) };
    const mtu = options[OPT.mtu] !== undefined ? Number(options[OPT.mtu]) : 0;
    if (!Number.isInteger(mtu) || mtu < 0) throw new InvalidParameter(`invalid MTU: ${options[OPT.mtu]}`);
    const id = newId();
    const bridge = options[OPT.name] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15) throw new InvalidParameter(`bridge name ${bridge} is too long (at most 15 characters)`);
    if (this.#bridges().some((n) => n.bridge === bridge)) throw new Forbidden(`bridge name ${bridge} is already in use by another network`);
    let cfg: PoolConfig;
    const userSubnet = configs.length === 1 && !!configs[0]!.Subnet;
    if (userSubnet) {
      const c = configs[0]!;
      cfg = { Subnet: c.Subnet!, ...(c.Gateway ? { Gateway: c.Gateway } : {}), ...(c.IPRange ? { IPRange: c.IPRange } : {}),
        ...(c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length ? { AuxiliaryAddresses: c.AuxiliaryAddresses } : {}) };
      const sub = parseCidr(cfg.Subnet);
      if (this.#bridges().some((n) => n.pool && overlaps(n.pool.subnet, sub))) throw new Forbidden('Pool overlaps with other one on this address space');
    } else {
      if (configs[0]?.Gateway || configs[0]?.IPRange) throw new InvalidParameter('a gateway or an ip-range needs a subnet');
      cfg = { Subnet: pickPool(await this.#taken(), this.#pools()) };
    }
    const pool = new Pool(cfg);
    cfg.Gateway ??= pool.gateway;
    let cfg6: PoolConfig | undefined;
    let pool6: Pool6 | undefined;
    if (configs6[0]?.Subnet) {
      const c = configs6[0];
      cfg6 = { Subnet: c.Subnet!, ...(c.Gateway ? { Gateway: c.Gateway } : {}), ...(c.IPRange ? { IPRange: c.IPRange } : {}),
        ...(c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length ? { AuxiliaryAddresses: c.AuxiliaryAddresses } : {}) };
      const sub6 = parseCidr6(cfg6.Subnet);
      if (this.#bridges().some((n) => n.pool6 && overlaps6(n.pool6.subnet, sub6))) throw new Forbidden('Pool overlaps with other one on this address space');
      const p6 = new Pool6(cfg6);
      cfg6 = { ...cfg6, Subnet: cidr6String(p6.subnet), Gateway: p6.gateway };
      // A network without EnableIPv6 keeps the config, as dockerd, but its containers get no IPv6.
      if (enableIPv6) pool6 = p6;
    } else if (configs6[0]) {
      throw new InvalidParameter('a gateway or an ip-range needs a subnet');
    }
    const net: Net = {
      id, name, driver: 'bridge', created: new Date().toISOString(), internal: !!body.Internal, attachable: !!body.Attachable,
      enableIPv6, labels: body.Labels ?? {}, options, userSubnet, predefined: false, bridge, pool, ...(pool6 ? { pool6 } : {}),
      ipam: { Driver: ipamDriver, Options: body.IPAM?.Options ?? {}, Config: [{ ...cfg, Subnet: cidrString(pool.subnet) }, ...(cfg6 ? [cfg6] : [])] },
      icc: boolOpt(options[OPT.icc], true), masquerade: boolOpt(options[OPT.masq], true), mtu: mtu || this.#o.mtu || 0,
    };
    this.#nets.set(id, net);
    try {
      await this.#save(net);
      await this.#up(net);
    } catch (err) {
      await this.#down(net).catch(() => {});
      throw err;
    }
    this.#o.event?.('create', id, { name, type: 'bridge' });
    return { Id: id, Warning: '' };
  }

  async #down(n: Net): Promise<void> {
    this.#nets.delete(n.id);
    await n.dns?.close().catch(() => {});
    n.dns = undefined;
    if (this.#o.iptables) await removeRules(n.bridge!, this.#ip6Rules(n));
    await deleteBridge(n.bridge!);
    await this.#queue(n.id, () => rm(join(this.#dir, 'networks', `${n.id}.json`), { force: true }));
  }

  async removeNetwork(ref: string): Promise<void> {
    await this.#init();
    const n = this.#find(ref);
    if (n.predefined) throw new Forbidden(`${n.name} is a pre-defined network and cannot be removed`);
    if (Object.keys(this.#containersOf(n)).length) {
      // 409, as the issue asks (dockerd 20.10 answers 403 with the same words; the CLI prints
      // the message either way).
      throw new Conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    }
    // A stopped container's veth may still be on the bridge, and its release would save the record.
    await this.#teardownsDone();
    await this.#down(n);
    this.#o.event?.('destroy', n.id, { name: n.name, type: 'bridge' });
  }

  async prune(keep: (n: NetworkResource) => boolean): Promise<string[]> {
    await this.#init();
    const deleted: string[] = [];
    for (const n of [...this.#nets.values()]) {
      if (n.predefined || Object.keys(this.#containersOf(n)).length || !keep(this.#resource(n))) continue;
      await this.removeNetwork(n.id).then(() => deleted.push(n.name), (err: unknown) => this.#o.log?.warn({ err, network: n.name }, 'prune'));
    }
    this.#o.event?.('prune', '', { reclaimed: '0' });
    return deleted;
  }

  // ---------------------------------------------------------------- endpoint config

  /** Checks an endpoint config for `n` and adds the short ID to its aliases (user-defined networks). */
  #endpointConfig(c: Container, n: Net, given: EndpointSettings | undefined): EndpointSettings {
    const ep = { ...emptyEndpoint(), ...(given ?? {}) };
    const want = ep.IPAMConfig?.IPv4Address;
    const want6 = ep.IPAMConfig?.IPv6Address;
    if (want6 && (!isIPv6(want6) || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(want6))) throw new InvalidParameter(`invalid IPv6 address: ${want6}`);
    if (n.predefined) {
      if (want || want6) throw new InvalidParameter('user specified IP address is supported on user defined networks only');
      if (ep.Aliases?.length) throw new InvalidParameter('network-scoped alias is supported only for containers in user defined networks');
    } else {
      if (want && !n.userSubnet) throw new InvalidParameter(NO_SUBNET_IP);
      if (want && !contains(n.pool!.subnet, want)) throw new InvalidParameter(`Invalid address ${want}: It does not belong to any of this network's subnets`);
      // dockerd looks for a user's IPv6 subnet: a network without IPv6 has none to give from.
      if (want6 && !n.pool6) throw new InvalidParameter(NO_SUBNET_IP);
      if (want6 && !contains6(n.pool6!.subnet, want6)) throw new InvalidParameter(`Invalid address ${want6}: It does not belong to any of this network's subnets`);
      const short = c.ID.slice(0, 12);
      const aliases = [...(ep.Aliases ?? [])];
      if (!aliases.includes(short)) aliases.push(short);
      ep.Aliases = aliases;
    }
    ep.NetworkID = n.id;
    return ep;
  }

  #mode(c: Container): string { return c.HostConfig.NetworkMode || 'default'; }

  // ---------------------------------------------------------------- NetworkProvider

  async create(c: Container, networking: NetworkingConfig | undefined): Promise<string[]> {
    await this.#init();
    const m = this.#mode(c);
    const ns = emptyNetworkSettings();
    if (m.startsWith('container:')) {
      const other = this.#o.lookup(m.slice(10));
      if (other.ID === c.ID) throw new InvalidParameter('cannot join own network');
      c.NetworkSettings = ns;
      return [];
    }
    for (const l of c.HostConfig.Links ?? []) {
      const target = bare(l.split(':')[0] ?? '');
      if (m === 'host') throw new InvalidParameter(HOST_LINKS);
      let child: Container;
      try { child = this.#o.lookup(target); } catch (err) {
        if (err instanceof NotFound) throw new InvalidParameter(`could not get container for ${target}: ${err.message}`);
        throw err;
      }
      if (child.HostConfig.NetworkMode === 'host') throw new InvalidParameter(HOST_LINKS);
    }
    const given = networking?.EndpointsConfig ?? {};
    const keys = Object.keys(given);
    if (keys.length > 1) throw new InvalidParameter(`Container cannot be connected to network endpoints: ${keys.join(', ')}`);
    // As dockerd, a network that does not exist is an error at start, not here: a 404 from
    // create would make the CLI try to pull the image.
    let n: Net;
    try {
      n = m === 'default' ? this.#find('bridge') : this.#find(m);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      ns.Networks[m === 'default' ? 'bridge' : m] = { ...emptyEndpoint(), ...(keys.length ? given[keys[0]!] : {}) };
      c.NetworkSettings = ns;
      return [];
    }
    if (n.driver !== 'bridge' && m !== n.name) throw new InvalidParameter(`the ${n.name} network is named by its name: --network ${n.name}`);
    if (n.driver === 'bridge') {
      ns.Networks[n.name] = this.#endpointConfig(c, n, keys.length ? given[keys[0]!] : undefined);
    } else {
      ns.Networks[n.name] = { ...emptyEndpoint(), ...(keys.length ? given[keys[0]!] : {}), NetworkID: n.id };
    }
    c.NetworkSettings = ns;
    return [];
  }

  #netnsPath(c: Container): string { return join(this.#o.execRoot, 'netns', c.ID.slice(0, 12)); }
  #hostVeth(c: Container, n: Net): string {
    return `veth${createHash('sha256').update(`${c.ID}/${n.id}`).digest('hex').slice(0, 9)}`;
  }

  async setup(c: Container): Promise<{ netnsPath?: string; env?: string[] }> {
    await this.#init();
    const m = this.#mode(c);
    if (m.startsWith('container:')) {
      const other = this.#o.lookup(m.slice(10));
      if (!other.State.Running) throw new Conflict(`cannot join network of a non running container: ${other.ID}`);
      for (const [from, to] of [[other.HostsPath, c.HostsPath], [other.ResolvConfPath, c.ResolvConfPath], [other.HostnamePath, c.HostnamePath]] as const) {
        await writeFile(to, await readFile(from));
      }
      return { netnsPath: `/proc/${other.State.Pid}/ns/net` };
    }
    this.#hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    const ns = c.NetworkSettings ?? emptyNetworkSettings();
    c.NetworkSettings = ns;
    if (m === 'host') {
      this.#attachSpecial('host', c);
      await writeFile(c.HostsPath, await readFile('/etc/hosts', 'utf8').catch(() => HOSTS.join('\n') + '\n'));
      await writeFile(c.HostnamePath, `${hostHostname()}\n`);
      await writeFile(c.ResolvConfPath, this.#hostResolv);
      return {};
    }
    const hostname = c.Config.Hostname || c.ID.slice(0, 12);
    await writeFile(c.HostnamePath, `${hostname}\n`);
    if (m === 'none') {
      // Nothing can join a private namespace later (connect refuses `none`): runc makes it
      // with the task and brings its loopback up, which spares a process spawned per start.
      Object.assign(ns, { SandboxID: newId(), SandboxKey: '' });
      await writeFile(c.HostsPath, hostsFile(c.HostConfig.ExtraHosts ?? [], [], []));
      await writeFile(c.ResolvConfPath, this.#resolvConf(c, false));
      this.#attachSpecial('none', c);
      return {};
    }
    const path = this.#netnsPath(c);
    await this.#teardowns.get(c.ID);
    await this.#teardownEndpoints(c, false);
    const { veth: pooled } = await this.#pool.take(path);
    Object.assign(ns, { SandboxID: newId(), SandboxKey: path });
    let env: string[] = [];
    try {
      let i = 0;
      for (const [name, cfg] of Object.entries(ns.Networks)) {
        const n = this.#netOf(name, cfg);
        if (!n || n.driver !== 'bridge') throw new NotFound(`network ${name} not found`);
        if (name !== n.name) { delete ns.Networks[name]; ns.Networks[n.name] = cfg; }
        // The first endpoint on a network that is not internal carries the default route.
        const gateway = !n.internal && ![...this.#eps(c.ID).values()].some((e) => !e.net.internal);
        // The first endpoint on a user-defined network sets the DNS redirect, in the same step.
        const dns = !n.predefined && !!n.dns && !this.#dnsEndpoint(c);
        // The first endpoint takes the veth pair made with the namespace.
        const first = i === 0;
        await this.#attach(c, n, cfg, `eth${i++}`, { gateway, dns, ...(first && pooled ? { pooled } : {}) });
      }
      if (pooled && i === 0) await removeInterface(pooled.host);
      await writeFile(c.ResolvConfPath, this.#resolvConf(c, this.#usesEmbeddedDns(c)));
      env = await this.#writeHosts(c);
      await this.#publish(c);
    } catch (err) {
      await this.#teardownEndpoints(c).catch(() => {});
      // A pair not renamed yet keeps its pool name (once renamed, the teardown found it).
      if (pooled) await removeInterface(pooled.host).catch(() => {});
      await destroyNetns(path).catch(() => {});
      throw err;
    }
    return { netnsPath: path, ...(env.length ? { env } : {}) };
  }

  #attachSpecial(name: string, c: Container): void {
    if (!this.#special.has(name)) this.#special.set(name, new Map());
    this.#special.get(name)!.set(c.ID, { endpointId: newId(), name: bare(c.Name) });
  }

  /** Allocates an address, plugs a veth into the bridge and the namespace, records the endpoint. */
  async #attach(c: Container, n: Net, cfg: EndpointSettings, ifname: string, o: { gateway?: boolean; dns?: boolean; pooled?: PooledVeth } = {}): Promise<Endpoint> {
    const ip = n.pool!.allocate(c.ID, cfg.IPAMConfig?.IPv4Address || undefined);
    const custom = (c.Config as { MacAddress?: string }).MacAddress;
    const mac = custom && this.#eps(c.ID).size === 0 ? custom : macOf(ip);
    let ip6: string | undefined;
    try {
      if (n.pool6) ip6 = n.pool6.allocate(c.ID, cfg.IPAMConfig?.IPv6Address || (n.macV6 ? ipv6FromMac(n.pool6.subnet, mac) : undefined));
    } catch (err) {
      n.pool!.release(c.ID);
      throw err;
    }
    await this.#save(n);
    const ep: Endpoint = { net: n, ip, ...(ip6 ? { ip6 } : {}), mac, id: newId(), ifname, hostVeth: this.#hostVeth(c, n), aliases: cfg.Aliases ?? [] };
    this.#eps(c.ID).set(n.id, ep);
    const p6 = n.pool6;
    await addInterface(this.#netnsPath(c), { hostVeth: ep.hostVeth, ifname, bridge: n.bridge!, ip, prefix: n.pool!.prefix, mac, mtu: n.mtu || undefined,
      ...(o.pooled ? { pooled: o.pooled } : {}),
      ...(o.gateway ? { gateway: this.#routerOf(n) } : {}), ...(o.dns ? { dns: { server: n.pool!.gateway, from: ip } } : {}),
      ...(ip6 && p6 ? { ip6: { ip: ip6, prefix: p6.prefix, ...(o.gateway ? { gateway: this.#router6Of(n) } : {}) } } : {}) });
    // The gateways shown are the routers (`--default-gateway[-v6]` on the default bridge), as dockerd shows them.
    const v6 = { GlobalIPv6Address: ip6 ?? '', GlobalIPv6PrefixLen: ip6 && p6 ? p6.prefix : 0, IPv6Gateway: ip6 && p6 && !n.internal ? this.#router6Of(n) : '' };
    Object.assign(cfg, { NetworkID: n.id, EndpointID: ep.id, Gateway: n.internal ? '' : this.#routerOf(n), IPAddress: ip, IPPrefixLen: n.pool!.prefix, MacAddress: mac, ...v6 });
    if (n.name === 'bridge') {
      Object.assign(c.NetworkSettings!, { EndpointID: ep.id, Gateway: this.#routerOf(n), IPAddress: ip, IPPrefixLen: n.pool!.prefix, MacAddress: mac, ...v6 });
    }
    this.#o.event?.('connect', n.id, { container: c.ID, name: n.name, type: n.driver });
    return ep;
  }

  /** Where a container on `n` routes by default: the gateway, or `--default-gateway` on the default bridge. */
  #routerOf(n: Net): string {
    return n.predefined && this.#o.defaultGateway ? this.#o.defaultGateway : n.pool!.gateway;
  }

  /** The IPv6 router: the network's IPv6 gateway, or `--default-gateway-v6` on the default bridge. */
  #router6Of(n: Net): string {
    return n.predefined && this.#o.defaultGatewayV6 ? this.#o.defaultGatewayV6 : n.pool6!.gateway;
  }

  /** The endpoint that carries the default route: the first on a network that is not internal. */
  #primary(c: Container): Endpoint | undefined {
    const eps = [...this.#eps(c.ID).values()];
    return eps.find((e) => !e.net.internal) ?? eps[0];
  }

  #usesEmbeddedDns(c: Container): boolean {
    return Object.entries(c.NetworkSettings?.Networks ?? {}).some(([name, cfg]) => {
      const n = this.#netOf(name, cfg);
      return !!n && !n.predefined;
    });
  }

  /** The endpoint whose network's DNS server answers the container: the first on a user-defined network. */
  #dnsEndpoint(c: Container): Endpoint | undefined {
    return [...this.#eps(c.ID).values()].find((e) => !e.net.predefined && e.net.dns);
  }

  /** The endpoints that carry the default route and the DNS redirect. */
  #routing(c: Container): { gw: Endpoint | undefined; dns: Endpoint | undefined } {
    return { gw: [...this.#eps(c.ID).values()].find((e) => !e.net.internal), dns: this.#dnsEndpoint(c) };
  }

  /**
   * Default route and the DNS redirect follow the container's endpoints; each is set again
   * only when its endpoint changed since `before` (a process each, the redirect's ~15 ms).
   */
  async #refreshRouting(c: Container, before: { gw: Endpoint | undefined; dns: Endpoint | undefined }): Promise<void> {
    const path = this.#netnsPath(c);
    const { gw, dns } = this.#routing(c);
    // IPv6's default route goes the same way, when that network has IPv6.
    if (gw !== before.gw) await setDefaultRoute(path, gw ? this.#routerOf(gw.net) : undefined, gw?.ip6 && gw.net.pool6 ? this.#router6Of(gw.net) : undefined);
    if (dns !== before.dns) await setDnsRedirect(path, dns ? { server: dns.net.pool!.gateway, from: dns.ip } : undefined);
  }

  #resolvConf(c: Container, embedded: boolean): string {
    return resolvConf(this.#hostResolv, c.HostConfig.Dns ?? this.#o.dns, c.HostConfig.DnsSearch ?? this.#o.dnsSearch,
      c.HostConfig.DnsOptions ?? this.#o.dnsOpts, embedded);
  }

  /** Writes /etc/hosts; returns the legacy link variables (default bridge only). */
  async #writeHosts(c: Container): Promise<string[]> {
    const hostname = c.Config.Hostname || c.ID.slice(0, 12);
    const links: string[] = [];
    const env: string[] = [];
    if ([...this.#eps(c.ID).values()].some((e) => e.net.predefined && e.net.name === 'bridge')) {
      for (const l of c.HostConfig.Links ?? []) {
        // "/other:/me/alias", as dockerd stores them
        const [target = '', alias = ''] = l.split(':');
        const other = this.#o.lookup(bare(target));
        const otherIp = other.NetworkSettings?.Networks?.bridge?.IPAddress;
        if (!other.State.Running || !otherIp) throw new InvalidParameter(`Cannot link to a non running container: ${other.Name} AS ${alias}`);
        const name = alias.split('/').pop()!;
        links.push(`${otherIp}\t${[...new Set([name, other.Config.Hostname || other.ID.slice(0, 12), bare(other.Name)])].join(' ')}`);
        const full = alias.startsWith('/') ? alias : `/${bare(c.Name)}/${alias}`;
        env.push(...linkEnv(full, otherIp, Object.keys((other.Config.ExposedPorts ?? {}) as Record<string, unknown>), other.Config.Env ?? []));
      }
    }
    // As dockerd: each address of the container, IPv6 ones too, names it.
    const own = [...this.#eps(c.ID).values()].flatMap((e) => [e.ip, ...(e.ip6 ? [e.ip6] : [])].map((ip) => ({ ip, names: [hostname] })));
    await writeFile(c.HostsPath, hostsFile(c.HostConfig.ExtraHosts ?? [], links, own));
    return env;
  }

  /** Unplugs every endpoint of `c` and releases its addresses. */
  async #teardownEndpoints(c: Container, sweep = true): Promise<void> {
    const eps = this.#endpoints.get(c.ID);
    this.#endpoints.delete(c.ID);
    for (const ep of eps?.values() ?? []) {
      await removeInterface(ep.hostVeth);
      if (this.#release(ep.net, c.ID)) await this.#save(ep.net);
      this.#o.event?.('disconnect', ep.net.id, { container: c.ID, name: ep.net.name, type: ep.net.driver });
    }
    // Endpoints of a daemon that died are not in memory: their veths and addresses still are.
    for (const n of this.#bridges()) {
      if (eps?.has(n.id)) continue;
      if (this.#release(n, c.ID)) await this.#save(n);
    }
    // (addInterface removes a leftover veth of the same name itself.)
    for (const [name, cfg] of sweep ? Object.entries(c.NetworkSettings?.Networks ?? {}) : []) {
      const n = this.#netOf(name, cfg);
      if (n?.driver === 'bridge' && !eps?.has(n.id)) await removeInterface(this.#hostVeth(c, n));
    }
  }

  /** Whether `n` may have ip6tables rules to remove: with --ip6tables, or made by a daemon that had it. */
  #ip6Rules(n: Net): boolean { return !!this.#o.ip6tables || !!n.pool6; }

  /** Gives back both addresses `owner` holds on `n`; true when there was one. */
  #release(n: Net, owner: string): boolean {
    const v4 = n.pool?.release(owner) ?? false;
    const v6 = n.pool6?.release(owner) ?? false;
    return v4 || v6;
  }

  #clearSettings(c: Container): void {
    const ns = c.NetworkSettings;
    if (!ns) return;
    Object.assign(ns, { SandboxID: '', SandboxKey: '', ...UNSET, Ports: {} });
    for (const ep of Object.values(ns.Networks)) Object.assign(ep, UNSET);
  }

  async teardown(c: Container): Promise<void> {
    await this.#init();
    for (const m of this.#special.values()) m.delete(c.ID);
    await this.#unpublish(c);
    const m = this.#mode(c);
    if (m === 'host' || m.startsWith('container:')) return;
    // What the unplugging needs is read now: the record changes once this returns.
    const eps = this.#endpoints.get(c.ID);
    this.#endpoints.delete(c.ID);
    const sweep = Object.entries(c.NetworkSettings?.Networks ?? {}).flatMap(([name, cfg]) => {
      const n = this.#netOf(name, cfg);
      return n?.driver === 'bridge' && !eps?.has(n.id) ? [this.#hostVeth(c, n)] : [];
    });
    for (const ep of eps?.values() ?? []) this.#o.event?.('disconnect', ep.net.id, { container: c.ID, name: ep.net.name, type: ep.net.driver });
    this.#clearSettings(c);
    const path = this.#netnsPath(c);
    const id = c.ID;
    const prev = this.#teardowns.get(id);
    const job: Promise<void> = (async () => {
      await prev;
      for (const ep of eps?.values() ?? []) await removeInterface(ep.hostVeth);
      for (const v of sweep) await removeInterface(v);
      await destroyNetns(path);
      // Only now may another container take the addresses.
      for (const n of this.#bridges()) {
        if (this.#release(n, id)) await this.#save(n);
      }
    })().catch((err: unknown) => this.#o.log?.warn({ err, container: id }, 'network teardown'))
      .finally(() => { if (this.#teardowns.get(id) === job) this.#teardowns.delete(id); });
    this.#teardowns.set(id, job);
  }

  /** Waits for every teardown under way. */
  async #teardownsDone(): Promise<void> {
    while (this.#teardowns.size) await Promise.allSettled([...this.#teardowns.values()]);
  }

  async remove(c: Container): Promise<void> {
    // A container removed without a teardown (--rm found dead at restore) still has its namespace.
    await this.teardown(c);
  }

  async restore(c: Container): Promise<void> {
    await this.#init();
    const ns = c.NetworkSettings;
    const m = this.#mode(c);
    if (m === 'host' || m === 'none') this.#attachSpecial(m, c);
    if (!ns || m === 'host' || m === 'none' || m.startsWith('container:')) return;
    let i = 0;
    for (const [name, cfg] of Object.entries(ns.Networks)) {
      const n = this.#netOf(name, cfg);
      if (!n || n.driver !== 'bridge' || !cfg.IPAddress) continue;
      n.pool!.allocate(c.ID, cfg.IPAddress);
      const ip6 = n.pool6 && cfg.GlobalIPv6Address ? n.pool6.allocate(c.ID, cfg.GlobalIPv6Address) : undefined;
      await this.#save(n);
      this.#eps(c.ID).set(n.id, { net: n, ip: cfg.IPAddress, ...(ip6 ? { ip6 } : {}), mac: cfg.MacAddress ?? '', id: cfg.EndpointID ?? newId(), ifname: `eth${i++}`,
        hostVeth: this.#hostVeth(c, n), aliases: cfg.Aliases ?? [] });
    }
    await this.#publish(c);
  }

  /** Published ports, on the address of the endpoint that has the default route. */
  async #publish(c: Container): Promise<void> {
    await this.#unpublish(c);
    const first = this.#primary(c);
    if (!first) { c.NetworkSettings!.Ports = {}; return; }
    const proxy = this.#o.userlandProxy ?? true;
    const { ports, bindings } = await this.#proxies.start(c, { ip4: first.ip, ...(first.ip6 ? { ip6: first.ip6 } : {}) },
      first.net.options[OPT.hostIp] || this.#o.hostIp || '0.0.0.0', proxy || !this.#o.iptables);
    c.NetworkSettings!.Ports = ports;
    if (!this.#o.iptables || first.net.internal) return;
    // IPv6 bindings get DNAT only with --ip6tables and to a container's IPv6 address (the proxy alone serves the others).
    const rules = bindings.filter((b) => !b.hostIp.includes(':') || (this.#o.ip6tables && b.target.includes(':')))
      .flatMap((b) => dnatRules(first.net.bridge!, b, proxy));
    this.#dnat.set(c.ID, rules);
    await addPortRules(rules);
  }

  async #unpublish(c: Container): Promise<void> {
    await this.#proxies.stop(c.ID);
    const rules = this.#dnat.get(c.ID);
    this.#dnat.delete(c.ID);
    if (rules) { await removePortRules(rules); return; }
    // A daemon that was killed forgot the rules of what it published: find them by address.
    const published = Object.keys(c.HostConfig.PortBindings ?? {}).length > 0 || !!c.HostConfig.PublishAllPorts;
    const ips = Object.values(c.NetworkSettings?.Networks ?? {}).map((e) => e.IPAddress).filter((ip): ip is string => !!ip);
    const ips6 = Object.values(c.NetworkSettings?.Networks ?? {}).map((e) => e.GlobalIPv6Address).filter((ip): ip is string => !!ip);
    if (!this.#o.iptables || !published || !ips.length) return;
    const bridges = this.#bridges().map((n) => `berth:${n.bridge}`);
    const theirs = (addrs: string[], host: string, dest: (ip: string) => string) => (args: string[]) => {
      const i = args.indexOf('--comment');
      if (i < 0 || !bridges.includes(args[i + 1]!)) return false;
      const to = args[args.indexOf('--to-destination') + 1] ?? '';
      return addrs.some((ip) => to.startsWith(dest(ip)) || (args.includes(`${ip}/${host}`) && args.at(-1) === 'MASQUERADE'));
    };
    await removeWhere('nat', theirs(ips, '32', (ip) => `${ip}:`));
    if (this.#o.ip6tables && ips6.length) await removeWhere('nat', theirs(ips6, '128', (ip) => `[${ip}]:`), true);
  }

  view(c: Container): NetworkSettings { return c.NetworkSettings ?? emptyNetworkSettings(); }

  // ---------------------------------------------------------------- connect / disconnect

  async connect(netRef: string, containerRef: string, given: EndpointSettings | undefined): Promise<void> {
    await this.#init();
    const n = this.#find(netRef);
    const c = this.#o.lookup(containerRef);
    const m = this.#mode(c);
    if (m.startsWith('container:')) throw new InvalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
    if (m === 'host' || n.driver === 'host') throw new InvalidParameter('container cannot be disconnected from host network or connected to host network');
    if (m === 'none' || n.driver === 'null') throw new InvalidParameter('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    const ns = c.NetworkSettings ?? emptyNetworkSettings();
    c.NetworkSettings = ns;
    if (Object.entries(ns.Networks).some(([name, cfg]) => this.#netOf(name, cfg) === n)) {
      // dockerd keeps a stopped container's config as it is; a running one has the endpoint already.
      if (!c.State.Running) return;
      throw new Forbidden(`endpoint with name ${bare(c.Name)} already exists in network ${n.name}`);
    }
    const cfg = this.#endpointConfig(c, n, given);
    if (c.State.Running) {
      const used = new Set([...this.#eps(c.ID).values()].map((e) => e.ifname));
      let i = 0;
      while (used.has(`eth${i}`)) i++;
      const before = this.#routing(c);
      try {
        await this.#attach(c, n, cfg, `eth${i}`);
        ns.Networks[n.name] = cfg;
        await this.#refreshRouting(c, before);
        await this.#writeHosts(c);
      } catch (err) {
        const ep = this.#eps(c.ID).get(n.id);
        this.#eps(c.ID).delete(n.id);
        delete ns.Networks[n.name];
        if (ep) await removeInterface(ep.hostVeth);
        if (this.#release(n, c.ID)) await this.#save(n);
        throw err;
      }
    } else {
      ns.Networks[n.name] = cfg;
    }
    await this.#o.persist?.(c);
  }

  async disconnect(netRef: string, containerRef: string, force: boolean): Promise<void> {
    await this.#init();
    const c = this.#o.lookup(containerRef);
    let n: Net | undefined;
    try { n = this.#find(netRef); } catch (err) { if (!force) throw err; }
    const ns = c.NetworkSettings ?? emptyNetworkSettings();
    const key = Object.keys(ns.Networks).find((name) => (n ? this.#netOf(name, ns.Networks[name]) === n : name === netRef));
    if (!c.State.Running || !n) {
      if (!key) throw new SystemError(`container ${c.ID} is not connected to the network ${netRef}`);
      delete ns.Networks[key];
    } else {
      if (!key) throw new SystemError(`container ${c.ID} is not connected to network ${n.name}`);
      if (this.#mode(c) === 'host' && n.driver === 'host') throw new InvalidParameter('container cannot be disconnected from host network or connected to host network');
      const ep = this.#eps(c.ID).get(n.id);
      delete ns.Networks[key];
      if (ep) {
        const before = this.#routing(c);
        this.#eps(c.ID).delete(n.id);
        await removeInterface(ep.hostVeth);
        if (this.#release(n, c.ID)) await this.#save(n);
        this.#o.event?.('disconnect', n.id, { container: c.ID, name: n.name, type: n.driver });
        if (n.name === 'bridge') Object.assign(ns, UNSET);
        await this.#refreshRouting(c, before);
        await this.#writeHosts(c);
      }
    }
    await this.#o.persist?.(c);
  }

  // ---------------------------------------------------------------- DNS

  #dnsScope() {
    /** The asking container's endpoints on user-defined networks, found by its source address. */
    const askerOf = (ip: string): { cid: string; nets: Set<Net> } | undefined => {
      for (const [cid, eps] of this.#endpoints) {
        for (const ep of eps.values()) {
          if (ep.ip === ip && !ep.net.predefined) return { cid, nets: new Set([...eps.values()].filter((e) => !e.net.predefined).map((e) => e.net)) };
        }
      }
      return undefined;
    };
    const each = function* (this: NetworkController, nets: Set<Net>): Generator<[Container, Endpoint]> {
      for (const [cid, eps] of this.#endpoints) {
        let c: Container;
        try { c = this.#o.lookup(cid); } catch { continue; }
        for (const ep of eps.values()) if (nets.has(ep.net)) yield [c, ep];
      }
    }.bind(this);
    return {
      lookup: (from: string, name: string): string[] | undefined => {
        const a = askerOf(from);
        if (!a) return undefined;
        let q = name.toLowerCase();
        let nets = a.nets;
        const suffix = [...a.nets].find((n) => q.endsWith(`.${n.name.toLowerCase()}`));
        if (suffix) { nets = new Set([suffix]); q = q.slice(0, -(suffix.name.length + 1)); }
        const ips: string[] = [];
        const linked = linkTarget(this.#o.lookup, a.cid, q);
        for (const [c, ep] of each(nets)) {
          const names = [bare(c.Name), ...ep.aliases, c.ID.slice(0, 12)].map((s) => s.toLowerCase());
          if (linked !== c.ID && !names.includes(q)) continue;
          for (const ip of [ep.ip, ...(ep.ip6 ? [ep.ip6] : [])]) if (!ips.includes(ip)) ips.push(ip);
        }
        return ips.length ? ips : undefined;
      },
      reverse: (from: string, ip: string): string | undefined => {
        const a = askerOf(from);
        if (!a) return undefined;
        const ip6 = ip.includes(':') ? parseIPv6(ip) : undefined;
        for (const [c, ep] of each(a.nets)) {
          if (ep.ip === ip || (ip6 !== undefined && ep.ip6 && parseIPv6(ep.ip6) === ip6)) return `${bare(c.Name)}.${ep.net.name}`;
        }
        return undefined;
      },
      upstreams: (from: string): string[] | undefined => {
        const a = askerOf(from);
        if (!a) return undefined;
        let c: Container;
        try { c = this.#o.lookup(a.cid); } catch { return undefined; }
        // Only internal networks: nothing leaves the host for them, not even a DNS query.
        if ([...a.nets].every((n) => n.internal)) return [];
        return c.HostConfig.Dns?.length ? c.HostConfig.Dns : this.#o.dns.length ? this.#o.dns : nameservers(this.#hostResolv);
      },
    };
  }

  // ---------------------------------------------------------------- shutdown

  async close(): Promise<void> {
    await this.#teardownsDone();
    await this.#pool.close();
    await this.#proxies.close();
    if (!this.#ready) return;
    await this.#ready.catch(() => {});
    for (const n of this.#bridges()) {
      await n.dns?.close().catch(() => {});
      n.dns = undefined;
    }
    // Containers kept running (live-restore) keep their rules.
    if (!this.#o.iptables || [...this.#endpoints.values()].some((m) => m.size > 0)) return;
    for (const n of this.#bridges()) {
      if (n.predefined) await removeRulesButMasquerade(n.bridge!, this.#ip6Rules(n));
      else await removeRules(n.bridge!, this.#ip6Rules(n));
    }
  }
}


/** The container a legacy `--link target:alias` of `asker` names by `alias`, if any. */
function linkTarget(lookup: (ref: string) => Container, asker: string, alias: string): string | undefined {
  let c: Container;
  try { c = lookup(asker); } catch { return undefined; }
  const endpointLinks = Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((e) => e.Links ?? []);
  for (const l of [...(c.HostConfig.Links ?? []), ...endpointLinks]) {
    // "/other:/me/alias" as dockerd stores them, or "other:alias" as given
    const [target = '', path = ''] = l.split(':');
    if (path.split('/').pop()!.toLowerCase() !== alias) continue;
    try { return lookup(target.replace(/^\//, '')).ID; } catch { return undefined; }
  }
  return undefined;
}
