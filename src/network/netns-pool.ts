import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MS, native } from '../lib/native.js';
import { createNetns, createNetnsWithVeth, destroyNetns, removeInterface, type PooledVeth } from './sandbox.js';

interface PoolLog { warn(obj: object, msg: string): void }

/**
 * Network namespaces made ahead of need, each with a veth pair for its first endpoint. The
 * kernel takes 10-20 ms to make a namespace (every per-namespace table and sysctl) and about
 * as long for a veth pair, which a bridge start would wait for; the pool makes them while
 * nothing waits, and a start binds a ready namespace at its own path (one mount, no process)
 * and renames the pair's host end. A namespace from the pool is the one createNetns makes
 * (loopback up, IPv6 off by default), the pair what addInterface would make.
 */
export class NetnsPool {
  readonly #dir: string;
  readonly #size: number;
  readonly #log: PoolLog | undefined;
  readonly #ready: Array<{ path: string; veth: PooledVeth }> = [];
  #filling: Promise<void> | undefined;
  #closed = false;
  #seq = 0;

  constructor(dir: string, opts: { size?: number; log?: PoolLog } = {}) {
    this.#dir = dir;
    this.#size = opts.size ?? 2;
    this.#log = opts.log;
  }

  /** Removes what a daemon that died left in the pool's directory. */
  async sweep(): Promise<void> {
    for (const f of await readdir(this.#dir).catch(() => [] as string[])) await destroyNetns(join(this.#dir, f)).catch(() => {});
  }

  /**
   * A fresh namespace at `path`: a ready one when the pool has one (with the veth pair made
   * with it, which the caller uses or removes), else one made now.
   */
  async take(path: string): Promise<{ veth?: PooledVeth }> {
    const from = this.#ready.shift();
    this.#refill();
    if (!from) {
      await createNetns(path);
      return {};
    }
    try {
      await mkdir(dirname(path), { recursive: true });
      await destroyNetns(path);
      await writeFile(path, '');
      native.mount(from.path, path, '', MS.BIND, '', '');
    } catch (err) {
      this.#log?.warn({ err }, 'could not use a pooled network namespace');
      await this.#discard(from);
      await createNetns(path);
      return {};
    }
    await destroyNetns(from.path);
    return { veth: from.veth };
  }

  async #discard(entry: { path: string; veth: PooledVeth }): Promise<void> {
    await destroyNetns(entry.path).catch(() => {});
    // The pair goes with its namespace; the kernel may take a moment, removing it is sure.
    await removeInterface(entry.veth.host).catch(() => {});
  }

  /** Tops the pool up in the background, one namespace at a time. */
  #refill(): void {
    if (this.#closed || this.#filling) return;
    this.#filling = (async () => {
      while (!this.#closed && this.#ready.length < this.#size) {
        const host = `vb${randomBytes(5).toString('hex')}`;
        // Named by daemon: what a killed daemon left is told apart from what this one made.
        const entry = { path: join(this.#dir, `${process.pid}-${this.#seq++}`), veth: { host, peer: `${host}p` } };
        try {
          await createNetnsWithVeth(entry.path, entry.veth);
        } catch (err) {
          this.#log?.warn({ err }, 'could not make a network namespace ahead');
          await this.#discard(entry);
          return;
        }
        if (this.#closed) {
          await this.#discard(entry);
          return;
        }
        this.#ready.push(entry);
      }
    })().finally(() => { this.#filling = undefined; });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#filling;
    for (const e of this.#ready.splice(0)) await this.#discard(e);
  }
}
