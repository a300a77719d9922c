import { createServer, connect, type Server } from 'node:net';
import { InvalidParameter, SystemError } from '../lib/errors.js';
import type { Container } from '../container/container.js';
import type { NetworkSettings } from '../types/container.js';

/**
 * Published ports through a userland TCP proxy inside berthd: a listener per binding on the
 * host, each connection piped to the container's address. Reachable on 127.0.0.1 with no
 * hairpin NAT.
 */
export class PortProxies {
  readonly #servers = new Map<string, Server[]>();

  async start(c: Container, ip: string): Promise<NetworkSettings['Ports']> {
    await this.stop(c.ID);
    const ports: NetworkSettings['Ports'] = {};
    const bindings = (c.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
    const exposed = Object.keys((c.Config.ExposedPorts ?? {}) as Record<string, unknown>);
    const servers: Server[] = [];
    this.#servers.set(c.ID, servers);
    try {
      for (const key of new Set([...exposed, ...Object.keys(bindings)])) {
        const [portStr, proto = 'tcp'] = key.split('/');
        const list = bindings[key] ?? (c.HostConfig.PublishAllPorts ? [{ HostIp: '', HostPort: '' }] : null);
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
    } catch (err) {
      await this.stop(c.ID);
      throw err;
    }
    return ports;
  }

  async stop(id: string): Promise<void> {
    const servers = this.#servers.get(id) ?? [];
    this.#servers.delete(id);
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  }

  async close(): Promise<void> {
    for (const id of [...this.#servers.keys()]) await this.stop(id);
  }
}
