/**
 * Address helpers with Go's net package semantics (ParseIP, ParseCIDR, SplitHostPort), since
 * dockerd's checks and messages are built on them.
 */
import { isIP } from 'node:net';

/** 4 or 6 for an IP address as Go's net.ParseIP accepts it, else 0. Zones (fe80::1%eth0) are not IPs to Go. */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (s.includes('%')) return 0;
  return isIP(s) as 0 | 4 | 6;
}

export interface Cidr {
  ip: string;
  prefix: number;
  family: 4 | 6;
}

/** net.ParseCIDR; throws Go's "invalid CIDR address: x". */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const ip = slash < 0 ? '' : s.slice(0, slash);
  const bits = slash < 0 ? '' : s.slice(slash + 1);
  const family = ipFamily(ip);
  const max = family === 4 ? 32 : 128;
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) {
    throw new Error(`invalid CIDR address: ${s}`);
  }
  return { ip, prefix: Number(bits), family };
}

/** The address as bits, most significant first: enough to tell network and broadcast addresses apart. */
export function ipBits(ip: string): string {
  if (ipFamily(ip) === 4) return ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
  const part = (x: string | undefined): string[] => (x ? x.split(':') : []);
  const v4 = (groups: string[]): string[] => {
    const last = groups[groups.length - 1];
    if (last === undefined || !last.includes('.')) return groups;
    const o = last.split('.').map(Number) as [number, number, number, number];
    return [...groups.slice(0, -1), ((o[0] << 8) | o[1]).toString(16), ((o[2] << 8) | o[3]).toString(16)];
  };
  const h = v4(part(head));
  const t = tail === undefined ? [] : v4(part(tail));
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
}

/** net.SplitHostPort with Go's error text ("address x: missing port in address"). */
export function splitHostPort(hostport: string): { host: string; port: string } {
  const fail = (why: string): never => {
    throw new Error(`address ${hostport}: ${why}`);
  };
  const i = hostport.lastIndexOf(':');
  if (i < 0) fail('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) fail("missing ']' in address");
    if (end + 1 === hostport.length) fail('missing port in address');
    if (end + 1 !== i) fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) fail('too many colons in address');
  }
  if (hostport.slice(j).includes('[')) fail("unexpected '[' in address");
  if (hostport.slice(k).includes(']')) fail("unexpected ']' in address");
  return { host, port: hostport.slice(i + 1) };
}

/** net.JoinHostPort: brackets around IPv6 hosts. */
export function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
