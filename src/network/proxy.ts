import dgram from 'node:dgram';
import { createServer, connect, type Server } from 'node:net';
import { SystemError } from '../lib/errors.js';
import type { Container } from '../container/container.js';
import type { NetworkSettings } from '../types/container.js';

/**
 * Published ports through a userland proxy inside berthd: per binding a TCP listener (each
 * connection piped to the container's address) or a UDP socket (each client given its own
 * upstream socket, dropped after a while without traffic). This is what answers on
 * 127.0.0.1 and from containers of the same network; iptables DNAT (see ports.ts) takes the
 * rest straight to the container.
 */
export interface Binding { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; port: number }

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
      const up = dgram.createSocket('udp4');
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

export class PortProxies {
  readonly #listeners = new Map<string, Listener[]>();

  /** Listens for every published port of `c`; returns NetworkSettings.Ports and the bindings made. */
  /** With `proxy` false the listeners only hold the ports (iptables DNAT carries the traffic). */
  async start(c: Container, ip: string, defaultHostIp = '0.0.0.0', proxy = true): Promise<{ ports: NetworkSettings['Ports']; bindings: Binding[] }> {
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
          const hostIp = b.HostIp || defaultHostIp;
          const wanted = Number(b.HostPort || 0);
          const inUse = (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE'
            ? new SystemError(`driver failed programming external connectivity on endpoint ${c.Name.replace(/^\//, '')} (${c.NetworkSettings?.EndpointID ?? ''}): Bind for ${hostIp}:${wanted} failed: port is already allocated`)
            : err);
          let hostPort: number;
          if (proto === 'tcp') {
            const srv = proxy ? tcpListener(ip, port) : createServer((s) => s.destroy());
            await new Promise<void>((resolve, reject) => {
              srv.once('error', (err: NodeJS.ErrnoException) => reject(inUse(err)));
              srv.listen(wanted, hostIp, () => resolve());
            });
            listeners.push({ close: () => new Promise<void>((r) => srv.close(() => r())) });
            hostPort = (srv.address() as { port: number }).port;
          } else {
            const sock = dgram.createSocket('udp4');
            await new Promise<void>((resolve, reject) => {
              sock.once('error', (err: NodeJS.ErrnoException) => reject(inUse(err)));
              sock.bind(wanted, hostIp, () => resolve());
            });
            if (proxy) listeners.push(udpListener(sock, ip, port));
            else listeners.push({ close: () => new Promise<void>((r) => sock.close(() => r())) });
            hostPort = sock.address().port;
          }
          made.push({ proto, hostIp, hostPort, port });
          ports[key]!.push({ HostIp: hostIp, HostPort: String(hostPort) });
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
