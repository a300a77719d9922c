import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../lib/log.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { InvalidParameter, NotFound } from '../lib/errors.js';
import type { ImageConfig } from '../types/image.js';
import type { LayerStore } from './layer/store.js';
import { chainIds, hexOf } from './layer/chain.js';

/**
 * The image store, as dockerd's imagedb: an image is its config JSON, stored under the sha256
 * of its exact bytes (that digest is the image ID), plus small metadata (parent, last tag
 * time). Each image holds a reference on the layer its rootfs ends in.
 */
export interface Image {
  id: string;
  config: ImageConfig;
  raw: Buffer;
  /** Chain ID of the top layer; undefined for an image with no layers. */
  topLayer?: string;
  parent?: string;
  lastTagTime?: string;
}

export class ImageStore {
  readonly #root: string;
  readonly #layers: LayerStore;
  readonly #images = new Map<string, Image>();

  private constructor(root: string, layers: LayerStore) {
    this.#root = root;
    this.#layers = layers;
  }

  get #content(): string { return join(this.#root, 'imagedb', 'content', 'sha256'); }
  get #metadata(): string { return join(this.#root, 'imagedb', 'metadata', 'sha256'); }

  /**
   * Opens the store; an image that is damaged or misses a layer is logged and skipped. Reads
   * are synchronous: this runs once at start-up, before the API listens, and a thousand small
   * files read in a loop cost a fraction of as many promise round trips.
   */
  static async open(opts: { root: string; layers: LayerStore; log: Log }): Promise<ImageStore> {
    const s = new ImageStore(opts.root, opts.layers);
    await mkdir(s.#content, { recursive: true, mode: 0o700 });
    await mkdir(s.#metadata, { recursive: true, mode: 0o700 });
    const withMeta = new Set(readdirSync(s.#metadata));
    const optional = (path: string) => { try { return readFileSync(path, 'utf8').trim() || undefined; } catch { return undefined; } };
    for (const hex of readdirSync(s.#content)) {
      if (!/^[0-9a-f]{64}$/.test(hex)) continue;
      try {
        const raw = readFileSync(join(s.#content, hex));
        const img = s.#parse(raw);
        if (img.id !== `sha256:${hex}`) throw new Error('content does not match its digest');
        if (img.topLayer) opts.layers.acquire(img.topLayer);
        if (withMeta.has(hex)) {
          const meta = join(s.#metadata, hex);
          img.parent = optional(join(meta, 'parent'));
          img.lastTagTime = optional(join(meta, 'lastUpdated'));
        }
        s.#images.set(img.id, img);
      } catch (err) {
        opts.log.warn({ image: hex, err: (err as Error).message }, 'skipping a damaged image');
      }
    }
    return s;
  }

  #parse(raw: Buffer): Image {
    let config: ImageConfig;
    try {
      config = JSON.parse(raw.toString('utf8')) as ImageConfig;
    } catch (err) {
      throw new InvalidParameter(`invalid image config: ${(err as Error).message}`, { cause: err });
    }
    if (!config || typeof config !== 'object' || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
      throw new InvalidParameter('invalid image config: no rootfs');
    }
    const chain = chainIds(config.rootfs.diff_ids);
    const id = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    return { id, config, raw, ...(chain.length ? { topLayer: chain[chain.length - 1] } : {}) };
  }

  /**
   * Stores a config whose layers are already in the layer store. Idempotent: storing the
   * same bytes again returns the same image.
   */
  async create(raw: Buffer): Promise<Image> {
    const img = this.#parse(raw);
    const existing = this.#images.get(img.id);
    if (existing) return existing;
    if (img.topLayer && !this.#layers.get(img.topLayer)) {
      throw new InvalidParameter(`image ${img.id} refers to a layer that does not exist: ${img.topLayer}`);
    }
    await writeFileAtomic(join(this.#content, hexOf(img.id)), raw, { mode: 0o600 });
    if (img.topLayer) this.#layers.acquire(img.topLayer);
    this.#images.set(img.id, img);
    return img;
  }

  get(id: string): Image | undefined {
    return this.#images.get(id);
  }

  all(): Image[] {
    return [...this.#images.values()];
  }

  /** Finds an image by full ID, `sha256:` prefix or bare hex prefix; undefined if none or ambiguous. */
  byPrefix(prefix: string): Image[] {
    const p = prefix.startsWith('sha256:') ? prefix : `sha256:${prefix}`;
    if (!/^sha256:[0-9a-f]{1,64}$/.test(p)) return [];
    const exact = this.#images.get(p);
    if (exact) return [exact];
    return [...this.#images.values()].filter((i) => i.id.startsWith(p));
  }

  async setParent(id: string, parent: string): Promise<void> {
    const img = this.#must(id);
    await mkdir(join(this.#metadata, hexOf(id)), { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.#metadata, hexOf(id), 'parent'), parent);
    img.parent = parent;
  }

  async setLastTagTime(id: string, when: Date): Promise<void> {
    const img = this.#must(id);
    await mkdir(join(this.#metadata, hexOf(id)), { recursive: true, mode: 0o700 });
    img.lastTagTime = when.toISOString();
    await writeFileAtomic(join(this.#metadata, hexOf(id), 'lastUpdated'), img.lastTagTime);
  }

  children(id: string): Image[] {
    return [...this.#images.values()].filter((i) => i.parent === id);
  }

  /** Removes the image and drops its layer reference; returns the layers that went with it. */
  async delete(id: string): Promise<string[]> {
    const img = this.#must(id);
    this.#images.delete(id);
    await rm(join(this.#content, hexOf(id)), { force: true });
    await rm(join(this.#metadata, hexOf(id)), { recursive: true, force: true });
    return img.topLayer ? this.#layers.release(img.topLayer) : [];
  }

  #must(id: string): Image {
    const img = this.#images.get(id);
    if (!img) throw new NotFound(`No such image: ${id}`);
    return img;
  }
}
