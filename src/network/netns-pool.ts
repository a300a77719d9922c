import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MS, native } from '../lib/native.js';
import { createNetns, destroyNetns } from './sandbox.js';

interface PoolLog { warn(obj: object, msg: string): void }

/**
 * Network namespaces made ahead of need. The kernel takes 10-20 ms to make one (every
 * per-namespace table and sysctl), which a bridge start would wait for; the pool makes them
 * while nothing waits, and a start binds a ready one at its own path (one mount, no process).
 * A namespace from the pool is the one createNetns makes: loopback up, IPv6 off by default.
 */
export class NetnsPool {
  readonly #dir: string;
  readonly #size: number;
  readonly #log: PoolLog | undefined;
  readonly #ready: string[] = [];
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

  /** A fresh namespace at `path`: a ready one when the pool has one, else one made now. */
  async take(path: string): Promise<void> {
    const from = this.#ready.shift();
    this.#refill();
    if (!from) return createNetns(path);
    try {
      await mkdir(dirname(path), { recursive: true });
      await destroyNetns(path);
      await writeFile(path, '');
      native.mount(from, path, '', MS.BIND, '', '');
    } catch (err) {
      this.#log?.warn({ err }, 'could not use a pooled network namespace');
      await destroyNetns(from).catch(() => {});
      return createNetns(path);
    }
    await destroyNetns(from);
  }

  /** Tops the pool up in the background, one namespace at a time. */
  #refill(): void {
    if (this.#closed || this.#filling) return;
    this.#filling = (async () => {
      while (!this.#closed && this.#ready.length < this.#size) {
        const path = join(this.#dir, String(this.#seq++));
        try {
          await createNetns(path);
        } catch (err) {
          this.#log?.warn({ err }, 'could not make a network namespace ahead');
          await destroyNetns(path).catch(() => {});
          return;
        }
        if (this.#closed) {
          await destroyNetns(path).catch(() => {});
          return;
        }
        this.#ready.push(path);
      }
    })().finally(() => { this.#filling = undefined; });
  }

  /** Starts filling the pool (the first bridge start then needs no namespace of its own). */
  warm(): void {
    this.#refill();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#filling;
    for (const p of this.#ready.splice(0)) await destroyNetns(p).catch(() => {});
  }
}
