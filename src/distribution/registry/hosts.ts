import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Agent, interceptors, type Dispatcher } from 'undici';

/**
 * Where a registry is reached and how: dockerd's registry service config. An "endpoint" is one
 * base URL (`https://host` or `http://host`) with its TLS settings; a registry has one or more,
 * tried in order, the next one only when the earlier could not be reached (the HTTP fallback
 * of insecure registries, mirrors before Docker Hub).
 */
export interface Endpoint {
  /** `https://127.0.0.1:5000`, no trailing slash. */
  url: string;
  /** The certificate is not verified (an insecure registry over TLS). */
  insecure: boolean;
  mirror: boolean;
  dispatcher: Dispatcher;
}

export interface HostsOptions {
  /** --insecure-registry values: CIDRs or host[:port]. 127.0.0.0/8 is always insecure. */
  insecure: string[];
  /** --registry-mirror values, for docker.io only. */
  mirrors: string[];
  /** Directories holding `<host[:port]>/{ca.crt,client.cert,client.key}`. */
  certsDirs: string[];
  /** Bounded time-outs of every request, in ms. */
  connectTimeout?: number;
  requestTimeout?: number;
}

export const DOCKER_HUB = 'docker.io';
const HUB_V2 = 'https://registry-1.docker.io';

export class Hosts {
  readonly #o: Required<HostsOptions>;
  readonly #agents = new Map<string, Dispatcher>();

  constructor(opts: HostsOptions) {
    this.#o = { connectTimeout: 15_000, requestTimeout: 60_000, ...opts };
  }

  /**
   * The endpoints of a registry domain, in the order to try. A domain is insecure when it is
   * named in --insecure-registry or one of its addresses lies in an insecure CIDR; such a
   * registry is tried over TLS without verification first, then over plain HTTP.
   */
  async endpoints(domain: string): Promise<Endpoint[]> {
    if (domain === DOCKER_HUB || domain === 'index.docker.io') {
      const out: Endpoint[] = [];
      for (const m of this.#o.mirrors) {
        const url = m.replace(/\/+$/, '');
        const host = new URL(url).host;
        const insecure = await this.isInsecure(host);
        out.push({ url, insecure, mirror: true, dispatcher: await this.#agent(host, url.startsWith('https:') && insecure) });
      }
      out.push({ url: HUB_V2, insecure: false, mirror: false, dispatcher: await this.#agent('registry-1.docker.io', false) });
      return out;
    }
    const insecure = await this.isInsecure(domain);
    const out: Endpoint[] = [{ url: `https://${domain}`, insecure, mirror: false, dispatcher: await this.#agent(domain, insecure) }];
    if (insecure) out.push({ url: `http://${domain}`, insecure: true, mirror: false, dispatcher: await this.#agent(domain, false) });
    return out;
  }

  async isInsecure(host: string): Promise<boolean> {
    if (host === DOCKER_HUB) return false;
    const { hostname } = splitHost(host);
    for (const entry of this.#o.insecure) {
      if (!entry.includes('/') && (entry === host || entry === hostname)) return true;
    }
    const cidrs = ['127.0.0.0/8', ...this.#o.insecure.filter((e) => e.includes('/'))];
    let addrs: string[];
    if (isIP(hostname)) addrs = [hostname];
    else {
      try {
        addrs = (await lookup(hostname, { all: true })).map((a) => a.address);
      } catch {
        addrs = [];
      }
    }
    return addrs.some((a) => cidrs.some((c) => inCidr(a, c)));
  }

  /** certs.d is read on every call, as dockerd does; an agent is kept per distinct TLS setup. */
  async #agent(host: string, insecure: boolean): Promise<Dispatcher> {
    const tls = await this.#tls(host);
    const key = `${host}|${insecure}|${createHash('sha256').update(JSON.stringify(tls)).digest('hex')}`;
    const cached = this.#agents.get(key);
    if (cached) return cached;
    const agent = new Agent({
      connect: { timeout: this.#o.connectTimeout, rejectUnauthorized: !insecure, ...tls },
      headersTimeout: this.#o.requestTimeout,
      bodyTimeout: this.#o.requestTimeout,
      connections: 16,
      keepAliveTimeout: 10_000,
    }).compose(interceptors.redirect({ maxRedirections: 5 }));
    this.#agents.set(key, agent);
    return agent;
  }

  /**
   * TLS material from `<certs dir>/<host>/`: every `*.crt` is a CA added to the system's, and
   * each `*.cert` with its `*.key` is a client certificate (dockerd's certs.d rules).
   */
  async #tls(host: string): Promise<{ ca?: string[]; cert?: string; key?: string }> {
    const cas: string[] = [];
    let cert: string | undefined;
    let key: string | undefined;
    for (const base of this.#o.certsDirs) {
      const dir = join(base, host);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) {
        if (n.endsWith('.crt')) cas.push(await readFile(join(dir, n), 'utf8'));
        else if (n.endsWith('.cert') && !cert) {
          const keyName = n.slice(0, -'.cert'.length) + '.key';
          if (!names.includes(keyName)) throw new Error(`missing key ${keyName} for client certificate ${n}. CA certificates must use the extension .crt`);
          cert = await readFile(join(dir, n), 'utf8');
          key = await readFile(join(dir, keyName), 'utf8');
        }
      }
    }
    const out: { ca?: string[]; cert?: string; key?: string } = {};
    if (cas.length) out.ca = [...(await systemCas()), ...cas];
    if (cert && key) { out.cert = cert; out.key = key; }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((a) => a.close().catch(() => {})));
    this.#agents.clear();
  }
}

async function systemCas(): Promise<string[]> {
  try {
    return [await readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8')];
  } catch {
    const { rootCertificates } = await import('node:tls');
    return [...rootCertificates];
  }
}

export function splitHost(host: string): { hostname: string; port?: string } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (m) return { hostname: m[1]!, ...(m[2] ? { port: m[2] } : {}) };
  const i = host.lastIndexOf(':');
  if (i > 0 && host.indexOf(':') === i) return { hostname: host.slice(0, i), port: host.slice(i + 1) };
  return { hostname: host };
}

/** IPv4 and IPv6 CIDR membership. */
export function inCidr(addr: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const a = toBytes(addr);
  const n = toBytes(net!);
  if (!a || !n || a.length !== n.length || !Number.isInteger(bits)) return false;
  for (let i = 0; i < a.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((a[i]! & mask) !== (n[i]! & mask)) return false;
  }
  return true;
}

function toBytes(ip: string): number[] | undefined {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  if (isIP(ip) !== 6) return undefined;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  let text = ip;
  let tail: number[] = [];
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    text = ip.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined ? (rest ? rest.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - r.length).fill('0'), ...r].map((g) => parseInt(g || '0', 16));
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (v4) bytes.splice(12, 4, ...tail);
  return bytes;
}
