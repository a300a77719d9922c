import http from 'node:http';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameter, SystemError, Unavailable, errorMessage } from '../lib/errors.js';
import type { Log } from '../lib/log.js';
import type { Driver } from './driver.js';
import { wrap, type PluginFinder } from './store.js';

/**
 * Legacy (v1) volume plugins: a process that answers JSON over HTTP on a unix socket (or
 * TCP) and is found by name, as dockerd's pkg/plugins finds it: `<name>.sock` (or
 * `<name>/<name>.sock`) in a sockets directory, `<name>.spec` (an address) or `<name>.json`
 * ({"Addr": ...}) in a specs directory. "Activation" is the `/Plugin.Activate` handshake
 * that says which APIs the plugin implements; a volume plugin implements "VolumeDriver".
 */
export interface PluginDirs {
  sockets: string[];
  specs: string[];
}

/** Where dockerd looks, and Berth's own directory under its exec root. */
export function defaultPluginDirs(execRoot: string): PluginDirs {
  const own = join(execRoot, 'plugins');
  return { sockets: ['/run/docker/plugins', own], specs: ['/etc/docker/plugins', '/usr/lib/docker/plugins', own] };
}

const ACCEPT = 'application/vnd.docker.plugins.v1.2+json';
const SCAN_TIMEOUT_MS = 5_000;

interface Address { socketPath?: string; host?: string; port?: number; display: string }

async function isFile(p: string, socket: boolean): Promise<boolean> {
  const st = await stat(p).catch(() => undefined);
  return !!st && (socket ? st.isSocket() : st.isFile());
}

function parseAddr(addr: string): Address {
  const a = addr.trim();
  if (a.startsWith('unix://')) return { socketPath: a.slice(7), display: a };
  const m = /^(?:tcp|http):\/\/([^/:]+):(\d+)\/?$/.exec(a);
  if (m) return { host: m[1]!, port: Number(m[2]), display: a };
  throw new InvalidParameter(`unknown protocol in plugin address ${JSON.stringify(a)}`);
}

/** One plugin's HTTP client, with bounded time for every call. */
class PluginClient {
  constructor(readonly name: string, readonly addr: Address, public timeoutMs: number) {}

  #url(method: string): string {
    return this.addr.socketPath ? `http://${encodeURIComponent(this.addr.socketPath)}/${method}` : `http://${this.addr.host}:${this.addr.port}/${method}`;
  }

  call<T>(method: string, body: unknown): Promise<T> {
    const payload = Buffer.from(JSON.stringify(body ?? null));
    return new Promise<T>((resolve, reject) => {
      const req = http.request({
        ...(this.addr.socketPath ? { socketPath: this.addr.socketPath } : { host: this.addr.host, port: this.addr.port }),
        path: `/${method}`, method: 'POST', agent: false,
        headers: { Accept: ACCEPT, 'Content-Type': ACCEPT, 'Content-Length': payload.length, Host: 'plugin' },
        timeout: this.timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let doc: Record<string, unknown> = {};
          try { doc = text.trim() ? JSON.parse(text) as Record<string, unknown> : {}; } catch { /* plain text error */ }
          if (res.statusCode !== 200) {
            const msg = typeof doc.Err === 'string' && doc.Err ? doc.Err : text.trim();
            reject(new SystemError(`${method}: ${msg || `status ${res.statusCode}`}`));
            return;
          }
          resolve(doc as T);
        });
      });
      req.on('timeout', () => req.destroy(new Unavailable(`Post "${this.#url(method)}": plugin ${this.name} did not answer within ${this.timeoutMs / 1000}s`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof Unavailable) { reject(err); return; }
        const what = err.code === 'ECONNREFUSED' ? 'connect: connection refused' : err.code === 'ENOENT' ? 'connect: no such file or directory' : err.message;
        const e = new Unavailable(`Post "${this.#url(method)}": dial ${this.addr.socketPath ? `unix ${this.addr.socketPath}` : `tcp ${this.addr.host}:${this.addr.port}`}: ${what}`);
        (e as Error & { code?: string }).code = err.code;
        reject(e);
      });
      req.end(payload);
    });
  }
}

/** VolumeDriver.* over a plugin client; a non-empty `Err` in a reply is the error. */
class PluginDriver implements Driver {
  readonly name: string;
  scope: 'local' | 'global' = 'local';
  readonly #c: PluginClient;
  readonly #paths = new Map<string, string>();

  constructor(c: PluginClient) { this.#c = c; this.name = c.name; }

  async #call<T extends { Err?: string }>(method: string, body: unknown): Promise<T> {
    const r = await this.#c.call<T>(`VolumeDriver.${method}`, body);
    if (r.Err) throw new SystemError(r.Err);
    return r;
  }

  async capabilities(): Promise<void> {
    try {
      const r = await this.#call<{ Err?: string; Capabilities?: { Scope?: string } }>('Capabilities', null);
      if (r.Capabilities?.Scope === 'global') this.scope = 'global';
    } catch { /* an older plugin without Capabilities: local scope */ }
  }

  async create(name: string, opts: Record<string, string>): Promise<void> {
    await this.#call('Create', { Name: name, Opts: opts });
  }

  async remove(name: string): Promise<void> {
    await this.#call('Remove', { Name: name });
    this.#paths.delete(name);
  }

  async exists(name: string): Promise<boolean> {
    try {
      const r = await this.#call<{ Err?: string; Volume?: { Name?: string; Mountpoint?: string } }>('Get', { Name: name });
      if (r.Volume?.Mountpoint) this.#paths.set(name, r.Volume.Mountpoint);
      return !!r.Volume;
    } catch (err) {
      if (err instanceof Unavailable) throw err;
      return false;
    }
  }

  async list(): Promise<string[]> {
    const r = await this.#call<{ Err?: string; Volumes?: Array<{ Name: string; Mountpoint?: string }> }>('List', null);
    for (const v of r.Volumes ?? []) if (v.Mountpoint) this.#paths.set(v.Name, v.Mountpoint);
    return (r.Volumes ?? []).map((v) => v.Name);
  }

  async path(name: string): Promise<string> {
    const cached = this.#paths.get(name);
    if (cached !== undefined) return cached;
    const r = await this.#call<{ Err?: string; Mountpoint?: string }>('Path', { Name: name });
    if (r.Mountpoint) this.#paths.set(name, r.Mountpoint);
    return r.Mountpoint ?? '';
  }

  async mount(name: string, id: string): Promise<string> {
    const r = await this.#call<{ Err?: string; Mountpoint?: string }>('Mount', { Name: name, ID: id });
    if (!r.Mountpoint) throw new SystemError(`VolumeDriver.Mount: plugin ${this.name} returned no mountpoint for ${name}`);
    this.#paths.set(name, r.Mountpoint);
    return r.Mountpoint;
  }

  async unmount(name: string, id: string): Promise<void> {
    await this.#call('Unmount', { Name: name, ID: id });
  }

  async status(name: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.#call<{ Err?: string; Volume?: { Status?: Record<string, unknown> } }>('Get', { Name: name });
    return r.Volume?.Status;
  }
}

/**
 * Finds and activates legacy volume plugins by name. Activation retries a refused or missing
 * socket for a bounded time (a plugin may be starting), then fails with the dial error.
 */
export class LegacyPlugins implements PluginFinder {
  readonly #dirs: PluginDirs;
  readonly #log: Log;
  readonly #timeoutMs: number;
  readonly #activateMs: number;
  readonly #drivers = new Map<string, PluginDriver>();
  readonly #pending = new Map<string, Promise<PluginDriver | undefined>>();

  constructor(o: { dirs: PluginDirs; log: Log; timeoutMs?: number; activateMs?: number }) {
    this.#dirs = o.dirs;
    this.#log = o.log;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#activateMs = o.activateMs ?? 5_000;
  }

  async #locate(name: string): Promise<Address | undefined> {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/.test(name)) return undefined;
    for (const dir of this.#dirs.sockets) {
      for (const p of [join(dir, `${name}.sock`), join(dir, name, `${name}.sock`)]) {
        if (await isFile(p, true)) return { socketPath: p, display: `unix://${p}` };
      }
    }
    for (const dir of this.#dirs.specs) {
      for (const base of [join(dir, name), join(dir, name, name)]) {
        if (await isFile(`${base}.spec`, false)) return parseAddr(await readFile(`${base}.spec`, 'utf8'));
        if (await isFile(`${base}.json`, false)) {
          const doc = JSON.parse(await readFile(`${base}.json`, 'utf8')) as { Addr?: string };
          if (!doc.Addr) throw new InvalidParameter(`plugin ${name}: no Addr in ${base}.json`);
          return parseAddr(doc.Addr);
        }
      }
    }
    return undefined;
  }

  async #activate(name: string, retry = true): Promise<PluginDriver | undefined> {
    const addr = await this.#locate(name);
    if (!addr) return undefined;
    // A listing's scan gives a silent plugin less time than a call that names it.
    const client = new PluginClient(name, addr, retry ? this.#timeoutMs : Math.min(this.#timeoutMs, SCAN_TIMEOUT_MS));
    const deadline = retry ? Date.now() + this.#activateMs : 0;
    let reply: { Implements?: string[] };
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      try {
        reply = await client.call<{ Implements?: string[] }>('Plugin.Activate', null);
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code === 'ECONNREFUSED' || code === 'ENOENT') && Date.now() + wait < deadline) {
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        throw new Unavailable(`legacy plugin: ${errorMessage(err)}`, { cause: err });
      }
    }
    if (!(reply.Implements ?? []).includes('VolumeDriver')) {
      throw new InvalidParameter(`legacy plugin: Plugin does not implement the requested driver`);
    }
    const d = new PluginDriver(client);
    await d.capabilities();
    client.timeoutMs = this.#timeoutMs;
    this.#log.info({ plugin: name, address: addr.display }, 'volume plugin activated');
    return d;
  }

  async driver(name: string, retry = true): Promise<Driver | undefined> {
    const known = this.#drivers.get(name);
    if (known) return known;
    let p = this.#pending.get(name);
    if (!p) {
      p = this.#activate(name, retry).then((d) => { if (d) this.#drivers.set(name, d); return d; })
        .finally(() => this.#pending.delete(name));
      this.#pending.set(name, p);
    }
    try {
      return await p;
    } catch (err) {
      throw wrap(err, `error looking up volume plugin ${name}`);
    }
  }

  /**
   * Every plugin that can be found, activated if need be (no retries, as dockerd's scan): a
   * listing shows the volumes of plugins not used yet since the daemon started.
   */
  async all(): Promise<Driver[]> {
    const names = new Set<string>();
    for (const dir of this.#dirs.sockets) {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (e.isSocket() && e.name.endsWith('.sock')) names.add(e.name.slice(0, -5));
        else if (e.isDirectory() && await isFile(join(dir, e.name, `${e.name}.sock`), true)) names.add(e.name);
      }
    }
    for (const dir of this.#dirs.specs) {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const m = /^(.+)\.(spec|json)$/.exec(e.name);
        if (e.isFile() && m) names.add(m[1]!);
        else if (e.isDirectory() && (await isFile(join(dir, e.name, `${e.name}.spec`), false) || await isFile(join(dir, e.name, `${e.name}.json`), false))) names.add(e.name);
      }
    }
    const out: Driver[] = [];
    for (const name of names) {
      try {
        const d = await this.driver(name, false);
        if (d) out.push(d);
      } catch (err) {
        this.#log.debug({ err, plugin: name }, 'plugin skipped in a listing');
      }
    }
    return out;
  }

  /** Forgets a plugin whose socket went away, so the next use finds it again. */
  forget(name: string): void {
    this.#drivers.delete(name);
  }
}
