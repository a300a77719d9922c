import dgram from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { fromIp6Arpa } from './ipam.js';

/**
 * The embedded DNS server of a user-defined network. It listens on the network's gateway
 * (containers reach it as 127.0.0.11 through a DNAT rule in their namespace, see sandbox.ts)
 * and knows the asker by its source address. Names of containers, their network aliases and
 * short IDs on the networks the asker is on are answered here (A, AAAA for those with IPv6
 * addresses, and PTR for their addresses of either family); other names are forwarded from the
 * host to the asker's upstream resolvers.
 */
export interface DnsScope {
  /**
   * The addresses (IPv4 and IPv6 alike) of `name` as seen from `asker`; undefined when the name
   * is not a container's.
   */
  lookup(asker: string, name: string): string[] | undefined;
  /** The name of the container holding `ip`, for a PTR answer. */
  reverse(asker: string, ip: string): string | undefined;
  /** Where to forward other names; undefined when `asker` is no container of ours. */
  upstreams(asker: string): string[] | undefined;
}

const TTL = 600;
const FORWARD_TIMEOUT_MS = 4000;
const RCODE = { SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export class DnsServer {
  readonly #udp: dgram.Socket;
  readonly #tcp: Server;
  readonly #scope: DnsScope;
  readonly #onError: (err: unknown) => void;

  private constructor(scope: DnsScope, onError: (err: unknown) => void) {
    this.#scope = scope;
    this.#onError = onError;
    this.#udp = dgram.createSocket('udp4');
    this.#udp.on('message', (msg, rinfo) => {
      void this.#answer(msg, rinfo.address).then((out) => {
        if (out) this.#udp.send(out, rinfo.port, rinfo.address);
      }, onError);
    });
    this.#udp.on('error', onError);
    this.#tcp = createServer((sock) => this.#serveTcp(sock));
    this.#tcp.on('error', onError);
  }

  static async listen(address: string, scope: DnsScope, onError: (err: unknown) => void): Promise<DnsServer> {
    const s = new DnsServer(scope, onError);
    await new Promise<void>((resolve, reject) => {
      s.#udp.once('error', reject);
      s.#udp.bind(53, address, () => { s.#udp.off('error', reject); resolve(); });
    });
    await new Promise<void>((resolve, reject) => {
      s.#tcp.once('error', reject);
      s.#tcp.listen(53, address, () => { s.#tcp.off('error', reject); resolve(); });
    }).catch(async (err: unknown) => { s.#udp.close(); throw err; });
    return s;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.#udp.close(() => r()));
    await new Promise<void>((r) => this.#tcp.close(() => r()));
  }

  #serveTcp(sock: Socket): void {
    let buf = Buffer.alloc(0);
    sock.on('error', () => sock.destroy());
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.#answer(msg, sock.remoteAddress?.replace(/^::ffff:/, '') ?? '').then((out) => {
          if (!out || sock.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        }, this.#onError);
      }
    });
  }

  async #answer(msg: Buffer, asker: string): Promise<Buffer | undefined> {
    let q: dnsPacket.Packet;
    try { q = dnsPacket.decode(msg); } catch { return undefined; }
    if (q.type !== 'query' || !q.questions?.length) return undefined;
    const question = q.questions[0]!;
    const reply = (rcode: number, answers: dnsPacket.Answer[] = []) => dnsPacket.encode({
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
      questions: [question], answers,
    });
    const upstreams = this.#scope.upstreams(asker);
    if (!upstreams) return reply(RCODE.REFUSED);
    const name = question.name.replace(/\.$/, '');
    if (question.type === 'PTR') {
      const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(name);
      const ip = m ? [m[4], m[3], m[2], m[1]].join('.') : fromIp6Arpa(name);
      const owner = ip ? this.#scope.reverse(asker, ip) : undefined;
      if (owner) return reply(0, [{ type: 'PTR', name: question.name, ttl: TTL, class: 'IN', data: owner }]);
    } else if (question.type === 'A' || question.type === 'AAAA') {
      const all = this.#scope.lookup(asker, name);
      if (all) {
        // A name of ours without an address of the family asked: an empty answer, never a forward.
        const v6 = question.type === 'AAAA';
        const ips = all.filter((ip) => ip.includes(':') === v6);
        return reply(0, shuffle(ips).map((ip) => ({ type: question.type as 'A' | 'AAAA', name: question.name, ttl: TTL, class: 'IN' as const, data: ip })));
      }
    }
    if (!upstreams.length) return reply(RCODE.NXDOMAIN);
    for (const server of upstreams) {
      const out = await forward(msg, server).catch(() => undefined);
      if (out) return out;
    }
    return reply(RCODE.SERVFAIL);
  }
}

function shuffle<T>(a: T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One query to an upstream resolver over UDP, from the host's namespace. */
function forward(msg: Buffer, server: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error(`no answer from ${server}`)); }, FORWARD_TIMEOUT_MS);
    sock.on('error', (err) => { clearTimeout(timer); sock.close(); reject(err); });
    sock.on('message', (out) => { clearTimeout(timer); sock.close(); resolve(out); });
    // Connected, so that a refusal (ICMP port unreachable) fails the query at once.
    sock.connect(53, server, () => sock.send(msg));
  });
}

