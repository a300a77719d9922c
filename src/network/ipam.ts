import { Forbidden, InvalidParameter, SystemError } from '../lib/errors.js';

/**
 * IPv4 address management. A "subnet" is a network's address space (CIDR); a "pool" is the
 * subnet with what is reserved in it (gateway, aux addresses, the range handed out) and the
 * addresses allocated to endpoints, keyed by the container that holds them.
 */
export interface Cidr { ip: string; prefix: number; base: number; size: number }

export const ipToInt = (ip: string): number => ip.split('.').reduce((a, b) => (a * 256) + Number(b), 0);
export const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
export const isIPv4 = (s: string): boolean => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((b) => Number(b) < 256);

export function parseCidr(cidr: string): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) throw new InvalidParameter(`invalid CIDR address: ${cidr}`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipToInt(m[1]!) / size) * size;
  return { ip: m[1]!, prefix, base, size };
}

export const cidrString = (c: Cidr): string => `${intToIp(c.base)}/${c.prefix}`;
export const overlaps = (a: Cidr, b: Cidr): boolean => a.base < b.base + b.size && b.base < a.base + a.size;
export const contains = (c: Cidr, ip: string): boolean => { const n = ipToInt(ip); return n >= c.base && n < c.base + c.size; };

export function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

/** dockerd's default local pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20 slices. */
export function* defaultPools(): Generator<string> {
  for (let i = 17; i < 32; i++) yield `172.${i}.0.0/16`;
  for (let i = 0; i < 256; i += 16) yield `192.168.${i}.0/20`;
}

/** `--default-address-pool base=...,size=...`: each base carved into subnets of that size, in order. */
export function* configuredPools(list: Array<{ base: string; size: number }>): Generator<string> {
  for (const p of list) {
    const base = parseCidr(p.base);
    const step = 2 ** (32 - p.size);
    for (let n = base.base; n + step <= base.base + base.size; n += step) yield `${intToIp(n)}/${p.size}`;
  }
}

/** The first default pool that overlaps neither `taken` nor a host route. */
export function pickPool(taken: Cidr[], pools: Iterable<string> = defaultPools()): string {
  for (const p of pools) {
    const c = parseCidr(p);
    if (!taken.some((t) => overlaps(t, c))) return p;
  }
  throw new SystemError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** What a network's IPAM config says, as POST /networks/create sends it. */
export interface PoolConfig { Subnet: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }

export class Pool {
  readonly subnet: Cidr;
  readonly gateway: string;
  readonly range: Cidr;
  readonly #reserved = new Set<string>();
  /** container id → address */
  readonly allocations: Map<string, string>;

  constructor(cfg: PoolConfig, allocations: Record<string, string> = {}) {
    this.subnet = parseCidr(cfg.Subnet);
    if (cfg.Gateway !== undefined && cfg.Gateway !== '') {
      if (!isIPv4(cfg.Gateway)) throw new InvalidParameter(`invalid gateway address ${cfg.Gateway}`);
      if (!contains(this.subnet, cfg.Gateway)) throw new Forbidden(`no matching subnet for gateway ${cfg.Gateway}`);
    }
    this.range = this.subnet;
    if (cfg.IPRange) {
      const r = parseCidr(cfg.IPRange);
      if (!contains(this.subnet, intToIp(r.base)) || !contains(this.subnet, intToIp(r.base + r.size - 1))) {
        throw new Forbidden(`no matching subnet for range ${cfg.IPRange}`);
      }
      this.range = r;
    }
    for (const [name, ip] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
      if (!isIPv4(ip) || !contains(this.subnet, ip)) throw new Forbidden(`no matching subnet for aux-address ${ip} (${name})`);
      this.#reserved.add(ip);
    }
    this.gateway = cfg.Gateway || intToIp(this.subnet.base + 1);
    this.#reserved.add(this.gateway);
    this.allocations = new Map(Object.entries(allocations));
  }

  get prefix(): number { return this.subnet.prefix; }

  /** The address held by `owner`, a new one, or `want` (from the whole subnet, as dockerd's static IPs). */
  allocate(owner: string, want?: string): string {
    const held = this.allocations.get(owner);
    if (held && (!want || held === want)) return held;
    const used = new Set(this.allocations.values());
    if (held) used.delete(held);
    let ip = '';
    if (want) {
      if (!isIPv4(want)) throw new InvalidParameter(`invalid IPv4 address: ${want}`);
      if (!contains(this.subnet, want)) throw new InvalidParameter(`Invalid address ${want}: It does not belong to any of this network's subnets`);
      const n = ipToInt(want);
      if (n === this.subnet.base || (this.subnet.size > 2 && n === this.subnet.base + this.subnet.size - 1)) {
        throw new InvalidParameter(`requested address is out of range`);
      }
      if (used.has(want) || this.#reserved.has(want)) throw new Forbidden('Address already in use');
      ip = want;
    } else {
      const first = Math.max(this.range.base, this.subnet.base + 1);
      const last = Math.min(this.range.base + this.range.size, this.subnet.base + this.subnet.size - 1);
      for (let n = first; n < last; n++) {
        const candidate = intToIp(n);
        if (!used.has(candidate) && !this.#reserved.has(candidate)) { ip = candidate; break; }
      }
      if (!ip) throw new SystemError('no available IPv4 addresses on this network\'s address pools');
    }
    this.allocations.set(owner, ip);
    return ip;
  }

  /** True when something was released. */
  release(owner: string): boolean {
    return this.allocations.delete(owner);
  }

  toJSON(): Record<string, string> { return Object.fromEntries(this.allocations); }
}
