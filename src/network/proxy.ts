import dgram from 'node:dgram';
import { createServer, connect, type Server } from 'node:net';
import { SystemError } from '../lib/errors.js';
import type { Container } from '../container/container.js';
import type { NetworkSettings } from '../types/container.js';

/**
 * Published ports through a userland proxy inside berthd: per binding a TCP listener (each
 * connection piped to the container's address) or a UDP socket (each client given its own
 * upstream socket, dropped after a while without traffic). This is what answers on
 * 127.0.0.1 and ::1 and from containers of the same network; iptables DNAT (see ports.ts) takes
 * the rest straight to the container. As dockerd 20.10, a port published without a host address
 * is served on both 0.0.0.0 and :: (the IPv6 side leads to the container's IPv4 address when it
 * has no IPv6 one).
 */
export interface Binding { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; port: number; /** the container's address */ target: string }

const UDP_IDLE_MS = 90_000;

interface Listener { close(): Promise<void> }

function tcpListener(target: string, port: number): Server {
  return createServer((sock) => {
    const up = connect(port, target);
    sock.pipe(up).pipe(sock);
    const end = () => { sock.destroy(); up.destroy(); };
    sock.on('error', end); up.on('error', end);
    sock.on('close', end); up.on('close', end);
  });
}

function udpListener(sock: dgram.Socket, target: string, port: number): Listener {
  const clients = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    const c = clients.get(key);
    if (!c) return;
    clients.delete(key);
    clearTimeout(c.timer);
    try { c.up.close(); } catch { /* closed */ }
  };
  sock.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let c = clients.get(key);
    if (!c) {
      const up = dgram.createSocket(target.includes(':') ? 'udp6' : 'udp4');
      up.on('message', (reply) => {
        sock.send(reply, rinfo.port, rinfo.address);
        const cur = clients.get(key);
        if (cur) cur.timer.refresh();
      });
      up.on('error', () => drop(key));
      c = { up, timer: setTimeout(() => drop(key), UDP_IDLE_MS) };
      c.timer.unref();
      clients.set(key, c);
    }
    c.timer.refresh();
    c.up.send(msg, port, target);
  });
  sock.on('error', () => {});
  return {
    close: async () => {
      for (const key of [...clients.keys()]) drop(key);
      await new Promise<void>((r) => sock.close(() => r()));
    },
  };
}

/** The container's addresses a published port leads to. */
export interface Targets { ip4: string; ip6?: string }

/** Whether this host can listen on IPv6 at all (not so when the kernel booted with ipv6.disable=1). */
let v6Listenable: Promise<boolean> | undefined;
function canListenV6(): Promise<boolean> {
  v6Listenable ??= new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(0, '::1', () => srv.close(() => resolve(true)));
  });
  return v6Listenable;
}

/**
 * The host addresses one requested binding is served on, as dockerd 20.10's bridge driver: an
 * IPv4 binding unless the host address is IPv6, and an IPv6 one unless it is IPv4 (no host
 * address and the default 0.0.0.0 make `::`). The IPv6 binding leads to the container's IPv6
 * address, or with the proxy to its IPv4 one when it has none.
 */
async function splitBinding(hostIp: string, defaultHostIp: string, t: Targets, proxy: boolean): Promise<Array<{ hostIp: string; target: string }>> {
  const out: Array<{ hostIp: string; target: string }> = [];
  const v6 = (s: string) => s.includes(':');
  if (hostIp ? !v6(hostIp) : !v6(defaultHostIp)) out.push({ hostIp: hostIp || defaultHostIp, target: t.ip4 });
  const target6 = t.ip6 ?? (proxy ? t.ip4 : undefined);
  if (!target6 || (hostIp && !v6(hostIp))) return out;
  if (!(hostIp && v6(hostIp)) && !(await canListenV6())) return out;
  const host6 = hostIp || (defaultHostIp === '0.0.0.0' ? '::' : v6(defaultHostIp) ? defaultHostIp : '');
  if (host6) out.push({ hostIp: host6, target: target6 });
  return out;
}

export class PortProxies {
  readonly #listeners = new Map<string, Listener[]>();

  /**
   * Listens for every published port of `c`; returns NetworkSettings.Ports and the bindings made.
   * With `proxy` false the listeners only hold the ports (iptables DNAT carries the traffic).
   */
  async start(c: Container, t: Targets, defaultHostIp = '0.0.0.0', proxy = true): Promise<{ ports: NetworkSettings['Ports']; bindings: Binding[] }> {
    await this.stop(c.ID);
    const ports: NetworkSettings['Ports'] = {};
    const made: Binding[] = [];
    const requested = (c.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
    const exposed = Object.keys((c.Config.ExposedPorts ?? {}) as Record<string, unknown>);
    const listeners: Listener[] = [];
    this.#listeners.set(c.ID, listeners);
    try {
      for (const key of new Set([...exposed, ...Object.keys(requested)])) {
        const [portStr, protoStr = 'tcp'] = key.split('/');
        const list = requested[key] ?? (c.HostConfig.PublishAllPorts ? [{ HostIp: '', HostPort: '' }] : null);
        if (!list || !list.length) { ports[key] = null; continue; }
        if (protoStr !== 'tcp' && protoStr !== 'udp') throw new SystemError(`publishing ${protoStr} ports is not supported by this berthd yet`);
        const proto = protoStr;
        const port = Number(portStr);
        ports[key] = [];
        for (const b of list) {
          const wanted = Number(b.HostPort || 0);
          // An ephemeral port: the IPv6 binding tries the one its IPv4 twin got, as dockerd's allocator mostly gives.
          let twin = 0;
          for (const { hostIp, target } of await splitBinding(b.HostIp || '', defaultHostIp, t, proxy)) {
            const v6 = hostIp.includes(':');
            const inUse = (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE'
              ? new SystemError(`driver failed programming external connectivity on endpoint ${c.Name.replace(/^\//, '')} (${c.NetworkSettings?.EndpointID ?? ''}): Bind for ${hostIp}:${wanted} failed: port is already allocated`)
              : err);
            const bind = async (p: number): Promise<{ listener: Listener; hostPort: number }> => {
              if (proto === 'tcp') {
                const srv = proxy ? tcpListener(target, port) : createServer((s) => s.destroy());
                await new Promise<void>((resolve, reject) => {
                  srv.once('error', reject);
                  srv.listen({ port: p, host: hostIp, ipv6Only: v6 }, () => resolve());
                });
                return { listener: { close: () => new Promise<void>((r) => srv.close(() => r())) }, hostPort: (srv.address() as { port: number }).port };
              }
              const sock = dgram.createSocket(v6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
              await new Promise<void>((resolve, reject) => {
                sock.once('error', (err) => { try { sock.close(); } catch { /* closed */ } reject(err); });
                sock.bind(p, hostIp, () => resolve());
              });
              const hostPort = sock.address().port;
              return { listener: proxy ? udpListener(sock, target, port) : { close: () => new Promise<void>((r) => sock.close(() => r())) }, hostPort };
            };
            let got: { listener: Listener; hostPort: number };
            try {
              got = await bind(wanted || twin).catch((err: NodeJS.ErrnoException) => {
                if (!wanted && twin && err.code === 'EADDRINUSE') return bind(0);
                throw err;
              });
            } catch (err) {
              throw inUse(err as NodeJS.ErrnoException);
            }
            listeners.push(got.listener);
            twin ||= got.hostPort;
            made.push({ proto, hostIp, hostPort: got.hostPort, port, target });
            ports[key]!.push({ HostIp: hostIp, HostPort: String(got.hostPort) });
          }
        }
      }
    } catch (err) {
      await this.stop(c.ID);
      throw err;
    }
    return { ports, bindings: made };
  }

  async stop(id: string): Promise<void> {
    const listeners = this.#listeners.get(id) ?? [];
    this.#listeners.delete(id);
    for (const l of listeners) await l.close();
  }

  async close(): Promise<void> {
    for (const id of [...this.#listeners.keys()]) await this.stop(id);
  }
}
