import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { chmod, chown, readFile, rm } from 'node:fs/promises';
import type { Log } from '../lib/log.js';
import { InvalidParameter, errorMessage } from '../lib/errors.js';
import { statusOf } from './errors.js';
import { compile, match, type CompiledRoute, type Route } from './router.js';
import { hijacked, Reply, StreamReply } from './reply.js';
import { parseQuery, parseJsonBody, readJson, makeVersionBelow, MAX_JSON_BODY, type Request } from './request.js';
import { API_VERSION, checkVersion, splitVersion } from './version.js';
import { detachFromHttp, hijackHead } from './hijack.js';

/** Where to listen: a parsed `-H` address. */
export type Listener =
  | { kind: 'unix'; path: string; group?: string }
  | { kind: 'tcp'; host: string; port: number; tls?: { ca?: string; cert: string; key: string; verify: boolean } };

export interface ServerOptions {
  log: Log;
  routes: Route[];
  /** Sent as the `Server` header on every answer. */
  serverHeader: string;
  experimental: boolean;
  /** Called as each request arrives (the daemon's idle detection). */
  onRequest?: () => void;
}

type AnyServer = http.Server | https.Server;

/**
 * The Engine API server: HTTP/1.1 over unix sockets and TCP, with version prefixes, one error
 * map, streamed replies and connection hijacking. It knows nothing of containers or images;
 * the routes it is given call narrow backends.
 */
export class ApiServer {
  readonly #opts: ServerOptions;
  readonly #routes: CompiledRoute[];
  readonly #servers: AnyServer[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #unixPaths: string[] = [];

  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.#routes = compile(opts.routes);
  }

  async listen(listeners: Listener[]): Promise<void> {
    for (const l of listeners) await this.#listenOne(l);
  }

  async #listenOne(l: Listener): Promise<void> {
    const server = l.kind === 'tcp' && l.tls
      ? https.createServer({
        cert: await readFile(l.tls.cert), key: await readFile(l.tls.key),
        ...(l.tls.ca ? { ca: await readFile(l.tls.ca) } : {}),
        requestCert: l.tls.verify, rejectUnauthorized: l.tls.verify,
      })
      : http.createServer();
    // Attach, exec, logs -f and events stay open for as long as the client wants.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 60_000;
    server.on('request', (req, res) => { void this.#dispatch(req, res, undefined); });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const res = new http.ServerResponse(req);
      res.assignSocket(socket);
      res.shouldKeepAlive = false;
      res.on('finish', () => socket.end());
      void this.#dispatch(req, res, head);
    });
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // As Go's server: 431 for headers over the limit, 400 for anything else unparsable.
      const head = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${head}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${head.slice(4)}`);
      else socket.destroy();
    });
    if (l.kind === 'unix') {
      await rm(l.path, { force: true });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.path, () => { server.off('error', reject); resolve(); });
      });
      this.#unixPaths.push(l.path);
      await chmod(l.path, 0o660);
      const gid = l.group ? await groupId(l.group) : undefined;
      if (gid !== undefined) await chown(l.path, 0, gid);
    } else {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => { server.off('error', reject); resolve(); });
      });
    }
    this.#servers.push(server);
  }

  /** The TCP ports actually bound, for listeners given port 0 (tests). */
  tcpPorts(): number[] {
    const ports: number[] = [];
    for (const s of this.#servers) {
      const a = s.address();
      if (a && typeof a === 'object') ports.push(a.port);
    }
    return ports;
  }

  /** Stops accepting, lets requests in flight finish for `graceMs`, then cuts what is left. */
  async close(graceMs = 1000): Promise<void> {
    const closed = Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.#servers) (s as http.Server).closeIdleConnections?.();
    const timer = setTimeout(() => { for (const s of this.#sockets) s.destroy(); }, graceMs);
    await closed;
    clearTimeout(timer);
    await Promise.all(this.#unixPaths.map((p) => rm(p, { force: true })));
  }

  async #dispatch(raw: IncomingMessage, res: ServerResponse, head: Buffer | undefined): Promise<void> {
    const started = process.hrtime.bigint();
    this.#opts.onRequest?.();
    const url = new URL(raw.url ?? '/', 'http://berth');
    const { version, path } = splitVersion(url.pathname);
    const method = raw.method ?? 'GET';
    res.setHeader('Server', this.#opts.serverHeader);
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', String(this.#opts.experimental));
    res.setHeader('Ostype', 'linux');
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let takenOver = false;
    try {
      const found = match(this.#routes, method, path);
      if (!found) {
        this.#send(raw, res, method, new Reply(404, { message: 'page not found' }));
        return;
      }
      checkVersion(version);
      // An upgrade request's body is not parsed by Node: it arrives at the head of the
      // connection's bytes, before the stream itself.
      let upgradeBody: Buffer | undefined;
      if (head !== undefined) {
        const split = await splitUpgradeBody(raw, head);
        upgradeBody = split.body;
        head = split.rest;
      }
      const req: Request = {
        method, path, version, params: found.params,
        query: parseQuery(url.searchParams), searchParams: url.searchParams,
        headers: raw.headers, body: raw, signal: abort.signal,
        json: async <T>() => (upgradeBody ? parseJsonBody<T>(raw, upgradeBody) : readJson<T>(raw)),
        versionBelow: makeVersionBelow(version),
        hijack: () => {
          takenOver = true;
          return this.#hijack(raw, res, head);
        },
      };
      const result = await found.route.handler(req);
      if (result === hijacked || takenOver) return;
      if (result instanceof StreamReply) {
        res.writeHead(result.status, { ...result.headers, 'Content-Type': result.contentType });
        res.flushHeaders();
        await pipeline(result.stream, res).catch((err: unknown) => {
          if (!abort.signal.aborted) this.#opts.log.debug({ err: errorMessage(err), path }, 'stream ended with an error');
        });
        return;
      }
      this.#send(raw, res, method, result instanceof Reply ? result : new Reply(200, result ?? null));
    } catch (err) {
      if (takenOver) {
        this.#opts.log.error({ err: errorMessage(err), path }, 'error on a hijacked connection');
        return;
      }
      const status = statusOf(err);
      if (status === 500) this.#opts.log.error({ err, method, path }, 'handler failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.#send(raw, res, method, new Reply(status, { message: errorMessage(err) }));
    } finally {
      this.#opts.log.debug({ method, url: raw.url, status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'api request');
    }
  }

  #send(raw: IncomingMessage, res: ServerResponse, method: string, reply: Reply): void {
    const { status, body, headers } = reply;
    // A body left unread (refused, or never needed) is read and dropped, as Go's server does
    // up to 256 KB, so the client sees the answer; past that the connection is closed rather
    // than kept alive with the rest of a body in it.
    if (!raw.complete) {
      let dropped = 0;
      raw.on('data', (d: Buffer) => {
        dropped += d.length;
        if (dropped > 256 * 1024 && !raw.socket.destroyed) {
          res.shouldKeepAlive = false;
          raw.socket.destroySoon?.();
        }
      });
      raw.resume();
    }
    const noBody = status === 204 || status === 304 || body === undefined;
    const payload = noBody ? '' : typeof body === 'string' ? body : JSON.stringify(body) + '\n';
    const h: Record<string, string | number> = { ...headers };
    if (!noBody && !h['Content-Type']) h['Content-Type'] = 'application/json';
    if (!noBody) h['Content-Length'] = Buffer.byteLength(payload);
    res.writeHead(status, h);
    res.end(method === 'HEAD' ? undefined : payload);
  }

  #hijack(raw: IncomingMessage, res: ServerResponse, head: Buffer | undefined): Duplex {
    const socket = raw.socket;
    if (head !== undefined) {
      res.detachSocket(socket);
      socket.write(hijackHead(true));
      if (head.length > 0) socket.unshift(head);
      // Reading the body may have paused the socket, and a paused socket stays paused when
      // the new owner adds its 'data' listener: let it flow (from the next tick on, after
      // the owner's listeners are in place).
      if (socket.isPaused()) socket.resume();
    } else {
      if (res.headersSent) throw new InvalidParameter('cannot hijack a connection that has answered');
      detachFromHttp(socket);
      socket.write(hijackHead(false));
    }
    socket.setTimeout(0);
    socket.setNoDelay?.(true);
    return socket;
  }
}

/** Takes Content-Length bytes off the front of an upgraded connection. */
async function splitUpgradeBody(raw: IncomingMessage, head: Buffer): Promise<{ body?: Buffer; rest: Buffer }> {
  const len = Number(raw.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(len) || len <= 0) return { rest: head };
  if (len > MAX_JSON_BODY) throw new InvalidParameter('request body is too large');
  let buf = head;
  const socket = raw.socket;
  while (buf.length < len) {
    const more = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => { done(); resolve(d); };
      const onEnd = () => { done(); resolve(null); };
      const done = () => { socket.pause(); socket.off('data', onData); socket.off('end', onEnd); socket.off('close', onEnd); };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (!more) break;
    buf = Buffer.concat([buf, more]);
  }
  return { body: buf.subarray(0, len), rest: buf.subarray(len) };
}

async function groupId(name: string): Promise<number | undefined> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined) return Number(gid);
  }
  return undefined;
}
