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

// ---------------------------------------------------------------- IPv6

/**
 * IPv6 address management, the same words as above with 128-bit addresses held as bigints.
 * Addresses are written as Go's net.IP prints them (RFC 5952: lower case, no leading zeros,
 * the longest run of two or more zero groups as `::`), which is what dockerd shows.
 */
export interface Cidr6 { ip: string; prefix: number; base: bigint; size: bigint }

const V6_BITS = 128n;

/** The address as a bigint, or undefined when `s` is no IPv6 address (zones refused). */
export function parseIPv6(s: string): bigint | undefined {
  if (!s.includes(':') || s.includes('%')) return undefined;
  let head = s;
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    if (!isIPv4(v4[2]!)) return undefined;
    const n = ipToInt(v4[2]!);
    tail = [Math.floor(n / 65536), n % 65536];
    head = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const group = (g: string) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN);
  const part = (p: string) => (p === '' ? [] : p.split(':').map(group));
  const left = part(halves[0]!);
  const right = [...(halves.length === 2 ? part(halves[1]!) : []), ...tail];
  if ([...left, ...right].some((g) => Number.isNaN(g))) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
  return groups.reduce((a, g) => (a << 16n) | BigInt(g), 0n);
}

export const isIPv6 = (s: string): boolean => parseIPv6(s) !== undefined;

export function formatIPv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

export function parseCidr6(cidr: string): Cidr6 {
  const m = /^([^/]+)\/(\d+)$/.exec(cidr);
  const n = m ? parseIPv6(m[1]!) : undefined;
  if (!m || n === undefined || Number(m[2]) > 128) throw new InvalidParameter(`invalid CIDR address: ${cidr}`);
  const prefix = Number(m[2]);
  const size = 1n << (V6_BITS - BigInt(prefix));
  return { ip: formatIPv6(n), prefix, base: (n / size) * size, size };
}

export const cidr6String = (c: Cidr6): string => `${formatIPv6(c.base)}/${c.prefix}`;
export const overlaps6 = (a: Cidr6, b: Cidr6): boolean => a.base < b.base + b.size && b.base < a.base + a.size;
export const contains6 = (c: Cidr6, ip: string): boolean => {
  const n = parseIPv6(ip);
  return n !== undefined && n >= c.base && n < c.base + c.size;
};

/** The address made of the subnet's prefix and a 48-bit MAC, as dockerd's default bridge with a --fixed-cidr-v6 of /80 or wider. */
export function ipv6FromMac(subnet: Cidr6, mac: string): string {
  const low = BigInt(`0x${mac.split(':').join('')}`);
  return formatIPv6(subnet.base | low);
}

/**
 * An IPv6 pool. As libnetwork's, the subnet's first address is never handed out (so the
 * gateway defaults to `<prefix>::1`), and unlike IPv4 there is no broadcast address to keep.
 */
export class Pool6 {
  readonly subnet: Cidr6;
  readonly gateway: string;
  readonly range: Cidr6;
  readonly #reserved = new Set<string>();
  /** container id → address */
  readonly allocations: Map<string, string>;

  constructor(cfg: PoolConfig, allocations: Record<string, string> = {}) {
    this.subnet = parseCidr6(cfg.Subnet);
    if (cfg.Gateway !== undefined && cfg.Gateway !== '') {
      if (!isIPv6(cfg.Gateway)) throw new InvalidParameter(`invalid gateway address ${cfg.Gateway}`);
      if (!contains6(this.subnet, cfg.Gateway)) throw new Forbidden(`no matching subnet for gateway ${cfg.Gateway}`);
    }
    this.range = this.subnet;
    if (cfg.IPRange) {
      const r = parseCidr6(cfg.IPRange);
      if (r.base < this.subnet.base || r.base + r.size > this.subnet.base + this.subnet.size) {
        throw new Forbidden(`no matching subnet for range ${cfg.IPRange}`);
      }
      this.range = r;
    }
    for (const [name, ip] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
      if (!isIPv6(ip) || !contains6(this.subnet, ip)) throw new Forbidden(`no matching subnet for aux-address ${ip} (${name})`);
      this.#reserved.add(formatIPv6(parseIPv6(ip)!));
    }
    this.gateway = cfg.Gateway ? formatIPv6(parseIPv6(cfg.Gateway)!) : formatIPv6(this.subnet.base + 1n);
    this.#reserved.add(this.gateway);
    this.allocations = new Map(Object.entries(allocations));
  }

  get prefix(): number { return this.subnet.prefix; }

  /** The address held by `owner`, a new one, or `want` (anywhere in the subnet, as dockerd's static IPs). */
  allocate(owner: string, want?: string): string {
    const held = this.allocations.get(owner);
    const norm = want ? parseIPv6(want) : undefined;
    if (want && norm === undefined) throw new InvalidParameter(`invalid IPv6 address: ${want}`);
    const wanted = norm !== undefined ? formatIPv6(norm) : undefined;
    if (held && (!wanted || held === wanted)) return held;
    const used = new Set(this.allocations.values());
    if (held) used.delete(held);
    let ip = '';
    if (wanted) {
      if (!contains6(this.subnet, wanted)) throw new InvalidParameter(`Invalid address ${want}: It does not belong to any of this network's subnets`);
      if (norm === this.subnet.base) throw new InvalidParameter('requested address is out of range');
      if (used.has(wanted) || this.#reserved.has(wanted)) throw new Forbidden('Address already in use');
      ip = wanted;
    } else {
      const first = this.range.base > this.subnet.base ? this.range.base : this.subnet.base + 1n;
      const end = this.range.base + this.range.size;
      // At most one candidate per address already taken is skipped: the walk is short.
      for (let n = first; n < end; n++) {
        const candidate = formatIPv6(n);
        if (!used.has(candidate) && !this.#reserved.has(candidate)) { ip = candidate; break; }
      }
      if (!ip) throw new SystemError('no available IPv6 addresses on this network\'s address pools');
    }
    this.allocations.set(owner, ip);
    return ip;
  }

  release(owner: string): boolean {
    return this.allocations.delete(owner);
  }

  toJSON(): Record<string, string> { return Object.fromEntries(this.allocations); }
}

/** The reverse-lookup name's address: `b.a.9.8....ip6.arpa` → the IPv6 address, or undefined. */
export function fromIp6Arpa(name: string): string | undefined {
  const m = /^((?:[0-9a-f]\.){32})ip6\.arpa$/i.exec(name);
  if (!m) return undefined;
  const nibbles = m[1]!.split('.').filter(Boolean).reverse().join('');
  return formatIPv6(BigInt(`0x${nibbles}`));
}
