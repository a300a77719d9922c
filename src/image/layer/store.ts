import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Log } from '../../lib/log.js';
import { syncDir } from '../../lib/atomic.js';
import { Conflict, InvalidParameter, NotFound, SystemError } from '../../lib/errors.js';
import type { GraphDriver } from '../drivers/driver.js';
import { chainId as chainOf, hexOf, isDigest } from './chain.js';
import { Mutex } from '../../lib/mutex.js';

/**
 * The layer store, as dockerd's: read-only layers keyed by chain ID, each with its diff ID,
 * size, parent, the graph-driver directory that holds it ("cache ID") and a tar-split record
 * from which its exact tar can be produced again; and read-write layers of containers, each an
 * init layer plus the container's own layer on top of an image layer.
 *
 * A layer lives while something references it: an image that ends in it, a layer on top of
 * it, or a container's read-write layer. Releasing the last reference removes the layer, its
 * metadata and its directory. Metadata is written in a temp directory and renamed into place,
 * so a crash leaves a layer either whole or absent.
 */
export interface Layer {
  chainId: string;
  diffId: string;
  parent?: string;
  size: number;
  cacheId: string;
}

/** How a tar stream becomes a layer directory: supplied by the diff module. */
export interface LayerApplier {
  /** Extracts `tar` into the driver's directory `id`; records the tar-split into `split`. */
  apply(id: string, parent: string | undefined, tar: Readable, split: NodeJS.WritableStream): Promise<{ size: number }>;
  /** Rebuilds the exact tar of layer `id` from its tar-split record. */
  assemble(id: string, split: Readable): Readable;
}

export interface RWLayer {
  containerId: string;
  mountId: string;
  initId: string;
  parent?: string;
}

/** A layer applied to disk but not yet part of the store (see prepareDetached). */
export interface Pending {
  readonly cacheId: string;
  readonly diffId: string;
  readonly size: number;
  readonly tmp: string;
  /** Created on top of its parent already; otherwise the driver attaches it at commit. */
  readonly attached: boolean;
}

interface Entry extends Layer {
  refs: number;
}

export class LayerStore {
  readonly #root: string;
  readonly #driver: GraphDriver;
  readonly #applier: LayerApplier;
  readonly #log: Log;
  readonly #layers = new Map<string, Entry>();
  readonly #mounts = new Map<string, RWLayer>();
  readonly #lock = new Mutex();

  private constructor(root: string, driver: GraphDriver, applier: LayerApplier, log: Log) {
    this.#root = root;
    this.#driver = driver;
    this.#applier = applier;
    this.#log = log;
  }

  get driver(): GraphDriver { return this.#driver; }
  get #db(): string { return join(this.#root, 'layerdb'); }
  #dir(chainId: string): string { return join(this.#db, 'sha256', hexOf(chainId)); }
  #mountDir(containerId: string): string { return join(this.#db, 'mounts', containerId); }

  /** Opens the store; a damaged layer is logged and skipped, never fatal. */
  static async open(opts: { root: string; driver: GraphDriver; applier: LayerApplier; log: Log }): Promise<LayerStore> {
    const s = new LayerStore(opts.root, opts.driver, opts.applier, opts.log);
    await Promise.all(['sha256', 'mounts', 'tmp'].map((d) => mkdir(join(s.#db, d), { recursive: true, mode: 0o700 })));
    await rm(join(s.#db, 'tmp'), { recursive: true, force: true });
    await mkdir(join(s.#db, 'tmp'), { mode: 0o700 });
    await Promise.all((await readdir(join(s.#db, 'sha256'))).map((hex) => s.#loadLayer(hex)));
    for (const l of s.#layers.values()) {
      if (!l.parent) continue;
      const p = s.#layers.get(l.parent);
      if (p) p.refs++;
      else {
        opts.log.warn({ layer: l.chainId, parent: l.parent }, 'layer has a missing parent; skipping it');
        s.#layers.delete(l.chainId);
      }
    }
    await Promise.all((await readdir(join(s.#db, 'mounts'))).map((id) => s.#loadMount(id)));
    return s;
  }

  async #loadLayer(hex: string): Promise<void> {
    const dir = join(this.#db, 'sha256', hex);
    try {
      const read = (f: string) => readFile(join(dir, f), 'utf8').then((t) => t.trim());
      const [diffId, size, cacheId, parent] = await Promise.all([
        read('diff'), read('size'), read('cache-id'), read('parent').catch(() => ''),
      ]);
      if (!isDigest(diffId) || !/^[0-9a-f]{64}$/.test(cacheId) || (parent && !isDigest(parent))) {
        throw new Error('malformed metadata');
      }
      const chainId = `sha256:${hex}`;
      if (chainOf(parent || undefined, diffId) !== chainId) throw new Error('chain ID does not match its diff and parent');
      this.#layers.set(chainId, { chainId, diffId, size: Number(size), cacheId, refs: 0, ...(parent ? { parent } : {}) });
    } catch (err) {
      this.#log.warn({ layer: hex, err: (err as Error).message }, 'skipping a damaged layer');
    }
  }

  async #loadMount(containerId: string): Promise<void> {
    const dir = this.#mountDir(containerId);
    try {
      const read = (f: string) => readFile(join(dir, f), 'utf8').then((t) => t.trim());
      const [mountId, initId, parent] = await Promise.all([read('mount-id'), read('init-id'), read('parent').catch(() => '')]);
      if (parent) {
        const p = this.#layers.get(parent);
        if (!p) throw new Error(`parent layer ${parent} is missing`);
        p.refs++;
      }
      this.#mounts.set(containerId, { containerId, mountId, initId, ...(parent ? { parent } : {}) });
    } catch (err) {
      this.#log.warn({ container: containerId, err: (err as Error).message }, 'skipping a damaged read-write layer');
    }
  }

  get(chainId: string): Layer | undefined {
    const l = this.#layers.get(chainId);
    return l && { chainId: l.chainId, diffId: l.diffId, size: l.size, cacheId: l.cacheId, ...(l.parent ? { parent: l.parent } : {}) };
  }

  /** The layers from the base up to `chainId`. */
  chain(chainId: string): Layer[] {
    const out: Layer[] = [];
    for (let l = this.get(chainId); l; l = l.parent ? this.get(l.parent) : undefined) out.unshift(l);
    return out;
  }

  /** Bytes of the whole chain, as `docker images` reports an image's size. */
  chainSize(chainId: string): number {
    return this.chain(chainId).reduce((n, l) => n + l.size, 0);
  }

  /** Takes a reference on a layer (an image that ends in it). */
  acquire(chainId: string): void {
    const l = this.#layers.get(chainId);
    if (!l) throw new NotFound(`layer ${chainId} does not exist`);
    l.refs++;
  }

  /**
   * Drops a reference; the last one removes the layer, then its parent loses one. Returns the
   * chain IDs of the layers removed (rmi reports them).
   */
  async release(chainId: string): Promise<string[]> {
    return this.#lock.run(() => this.#release(chainId));
  }

  async #release(chainId: string): Promise<string[]> {
    const removed: string[] = [];
    for (let id: string | undefined = chainId; id;) {
      const l = this.#layers.get(id);
      if (!l) break;
      l.refs--;
      if (l.refs > 0) break;
      await this.#delete(l);
      removed.push(l.chainId);
      id = l.parent;
    }
    return removed;
  }

  async #delete(l: Entry): Promise<void> {
    this.#layers.delete(l.chainId);
    // Metadata first: a crash after this leaves only an unreferenced directory, never a
    // layer whose content is gone.
    const dir = this.#dir(l.chainId);
    const trash = join(this.#db, 'tmp', `rm-${hexOf(l.chainId)}-${randomBytes(4).toString('hex')}`);
    await rename(dir, trash).catch(() => {});
    await syncDir(join(this.#db, 'sha256')).catch(() => {});
    await this.#driver.remove(l.cacheId);
    await rm(trash, { recursive: true, force: true });
  }

  /**
   * Removes layers that nothing references, and driver directories that no layer or
   * container owns: both are what a crash in the middle of a load leaves.
   */
  async prune(): Promise<number> {
    let n = 0;
    await this.#lock.run(async () => {
      const owned = new Set<string>();
      for (const l of this.#layers.values()) owned.add(l.cacheId);
      for (const m of this.#mounts.values()) { owned.add(m.mountId); owned.add(m.initId); }
      for (const dir of await this.#driver.list()) {
        if (owned.has(dir)) continue;
        this.#log.info({ dir }, 'removing a layer directory no layer refers to');
        await this.#driver.remove(dir);
      }
      for (;;) {
        const orphan = [...this.#layers.values()].find((l) => l.refs <= 0);
        if (!orphan) break;
        this.#log.info({ layer: orphan.chainId }, 'removing an unreferenced layer');
        orphan.refs = 1;
        n += (await this.#release(orphan.chainId)).length;
      }
    });
    return n;
  }

  /**
   * Applies an uncompressed tar as a layer on top of `parent` and returns it with one
   * reference held for the caller. A layer with the same chain ID already present is reused.
   */
  async register(tar: Readable, parent: string | undefined): Promise<Layer> {
    const parentLayer = parent ? this.#layers.get(parent) : undefined;
    if (parent && !parentLayer) throw new NotFound(`parent layer ${parent} does not exist`);
    if (parentLayer) parentLayer.refs++; // held while we work, so the parent cannot vanish
    try {
      const pending = await this.#prepare(tar, parentLayer?.cacheId);
      return await this.commit(pending, parent);
    } finally {
      if (parentLayer) parentLayer.refs--;
    }
  }

  /** True when the driver can apply a layer before knowing its parent (overlay2). */
  get canPrepareDetached(): boolean { return this.#driver.attach !== undefined; }

  /**
   * Applies a tar as a layer whose parent is not known yet (docker load reads layers before
   * the manifest that orders them). Nothing is visible until `commit`; `discard` drops it.
   */
  prepareDetached(tar: Readable): Promise<Pending> {
    if (!this.#driver.attach) throw new SystemError(`the ${this.#driver.name} driver needs a layer's parent first`);
    return this.#prepare(tar, undefined);
  }

  async #prepare(tar: Readable, parentCacheId: string | undefined): Promise<Pending> {
    const cacheId = randomBytes(32).toString('hex');
    const tmp = join(this.#db, 'tmp', `write-set-${randomBytes(8).toString('hex')}`);
    let ok = false;
    try {
      await mkdir(tmp, { mode: 0o700 });
      await this.#driver.create(cacheId, parentCacheId);
      const hash = createHash('sha256');
      const hashing = new Transform({ transform(chunk: Buffer, _e, cb) { hash.update(chunk); cb(null, chunk); } });
      const splitFile = createWriteStream(join(tmp, 'tar-split.json.gz'), { mode: 0o600 });
      const splitDone = new Promise<void>((resolve, reject) => { splitFile.on('close', resolve); splitFile.on('error', reject); });
      const source = new PassThrough();
      const piping = pipeline(tar, hashing, source);
      const [{ size }] = await Promise.all([this.#applier.apply(cacheId, parentCacheId, source, splitFile), piping]);
      await splitDone;
      ok = true;
      return { cacheId, diffId: `sha256:${hash.digest('hex')}`, size, tmp, attached: parentCacheId !== undefined };
    } catch (err) {
      throw err instanceof InvalidParameter || err instanceof Conflict ? err : new SystemError(`failed to register layer: ${(err as Error).message}`, { cause: err });
    } finally {
      if (!ok) {
        await this.#driver.remove(cacheId).catch(() => {});
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }

  /** Drops a prepared layer that will not be committed. */
  async discard(p: Pending): Promise<void> {
    await this.#driver.remove(p.cacheId).catch(() => {});
    await rm(p.tmp, { recursive: true, force: true });
  }

  /**
   * Makes a prepared layer a layer of the store on top of `parent`, with one reference held
   * for the caller; if that chain ID exists already, the prepared copy is dropped instead.
   */
  async commit(p: Pending, parent: string | undefined): Promise<Layer> {
    const id = chainOf(parent, p.diffId);
    let kept = false;
    try {
      return await this.#lock.run(async () => {
        const existing = this.#layers.get(id);
        if (existing) {
          existing.refs++;
          return this.get(id)!;
        }
        const parentLayer = parent ? this.#layers.get(parent) : undefined;
        if (parent && !parentLayer) throw new NotFound(`parent layer ${parent} does not exist`);
        if (!p.attached && parentLayer) await this.#driver.attach!(p.cacheId, parentLayer.cacheId);
        await Promise.all([
          writeFile(join(p.tmp, 'diff'), p.diffId), writeFile(join(p.tmp, 'size'), String(p.size)),
          writeFile(join(p.tmp, 'cache-id'), p.cacheId), ...(parent ? [writeFile(join(p.tmp, 'parent'), parent)] : []),
        ]);
        await syncDir(p.tmp);
        await rename(p.tmp, this.#dir(id));
        await syncDir(join(this.#db, 'sha256'));
        if (parentLayer) parentLayer.refs++; // the child's reference on its parent
        this.#layers.set(id, { chainId: id, diffId: p.diffId, size: p.size, cacheId: p.cacheId, refs: 1, ...(parent ? { parent } : {}) });
        kept = true;
        return this.get(id)!;
      });
    } finally {
      if (!kept) await this.discard(p);
    }
  }

  /** The layer's tar, byte for byte as it was applied, so its diff ID holds after a save. */
  tar(chainId: string): Readable {
    const l = this.#layers.get(chainId);
    if (!l) throw new NotFound(`layer ${chainId} does not exist`);
    return this.#applier.assemble(l.cacheId, createReadStream(join(this.#dir(chainId), 'tar-split.json.gz')));
  }

  /** Path of the layer's tar-split record (for sizing a save before streaming it). */
  splitPath(chainId: string): string {
    return join(this.#dir(chainId), 'tar-split.json.gz');
  }

  // --- read-write layers of containers -------------------------------------------------

  /**
   * Creates a container's read-write layer: an init layer on top of `parent`, filled by
   * `init`, then the container's own layer on top of that.
   */
  async createRW(containerId: string, parent: string | undefined, init: (root: string) => Promise<void>): Promise<RWLayer> {
    if (this.#mounts.has(containerId)) throw new Conflict(`read-write layer for ${containerId} already exists`);
    const p = parent ? this.#layers.get(parent) : undefined;
    if (parent && !p) throw new NotFound(`layer ${parent} does not exist`);
    if (p) p.refs++;
    const mountId = randomBytes(32).toString('hex');
    const initId = `${mountId}-init`;
    try {
      await this.#driver.createReadWrite(initId, p?.cacheId);
      const root = await this.#driver.get(initId);
      try { await init(root); } finally { await this.#driver.put(initId); }
      await this.#driver.createReadWrite(mountId, initId);
      const dir = this.#mountDir(containerId);
      const tmp = join(this.#db, 'tmp', `mount-${containerId}`);
      await mkdir(tmp, { recursive: true, mode: 0o700 });
      await Promise.all([
        writeFile(join(tmp, 'mount-id'), mountId), writeFile(join(tmp, 'init-id'), initId),
        ...(parent ? [writeFile(join(tmp, 'parent'), parent)] : []),
      ]);
      await syncDir(tmp);
      await rename(tmp, dir);
      await syncDir(join(this.#db, 'mounts'));
      const rw: RWLayer = { containerId, mountId, initId, ...(parent ? { parent } : {}) };
      this.#mounts.set(containerId, rw);
      return rw;
    } catch (err) {
      await this.#driver.remove(mountId).catch(() => {});
      await this.#driver.remove(initId).catch(() => {});
      if (p) p.refs--;
      throw err;
    }
  }

  /** Containers that have a read-write layer. */
  rwContainers(): string[] {
    return [...this.#mounts.keys()];
  }

  getRW(containerId: string): RWLayer | undefined {
    return this.#mounts.get(containerId);
  }

  async mountRW(containerId: string): Promise<string> {
    const rw = this.#mounts.get(containerId);
    if (!rw) throw new NotFound(`no read-write layer for container ${containerId}`);
    return this.#driver.get(rw.mountId);
  }

  async unmountRW(containerId: string): Promise<void> {
    const rw = this.#mounts.get(containerId);
    if (rw) await this.#driver.put(rw.mountId);
  }

  /** Removes a container's read-write and init layers and drops their image layer's reference. */
  async releaseRW(containerId: string): Promise<void> {
    const rw = this.#mounts.get(containerId);
    if (!rw) return;
    this.#mounts.delete(containerId);
    const trash = join(this.#db, 'tmp', `rm-mount-${containerId}`);
    await rename(this.#mountDir(containerId), trash).catch(() => {});
    await this.#driver.remove(rw.mountId);
    await this.#driver.remove(rw.initId);
    await rm(trash, { recursive: true, force: true });
    if (rw.parent) await this.release(rw.parent);
  }

  /** Every layer, for /system/df and debugging. */
  all(): Layer[] {
    return [...this.#layers.keys()].map((id) => this.get(id)!);
  }
}
