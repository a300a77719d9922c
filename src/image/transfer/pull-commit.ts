import type { Readable } from 'node:stream';
import { Conflict } from '../../lib/errors.js';
import type { ImageService } from '../service.js';
import type { Layer, Pending } from '../layer/store.js';
import { chainIds } from '../layer/chain.js';
import { familiarString, type Reference } from '../reference/reference.js';

/**
 * What the distribution subsystem needs of the image store, in its words.
 *
 * Pull: layers arrive as uncompressed tar streams, are applied (before their parent is known
 * where the driver allows it, so several apply at once), committed in order, and held until
 * the image config that names them is stored; then the tag and the digest reference point at
 * the image. Every layer taken is released by the caller, so a failed pull keeps nothing.
 *
 * Push: an image's config bytes, its layers (chain ID, diff ID, size) and each layer's exact
 * tar, as the image store keeps them.
 */
export interface PullTarget {
  /** True when `prepare` may run before the parent is committed (overlay2). */
  readonly detached: boolean;
  hasLayer(chainId: string): boolean;
  /** Takes a reference on an existing layer; release it with `release`. */
  hold(chainId: string): void;
  release(chainId: string): Promise<void>;
  /** Applies a tar as a layer with no parent yet (only when `detached`). */
  prepare(tar: Readable): Promise<Pending>;
  discard(p: Pending): Promise<void>;
  /** Makes a prepared layer part of the store on `parent`, holding one reference. */
  commit(p: Pending, parent: string | undefined): Promise<Layer>;
  /** Applies a tar on top of `parent` and holds one reference. */
  register(tar: Readable, parent: string | undefined): Promise<Layer>;
  hasImage(id: string): boolean;
  /** The image a tag or digest reference points at now, if any. */
  lookup(ref: Reference): string | undefined;
  /**
   * Stores the config (its layers must be held) and points `tag` and `digestRef` at it.
   * Returns the image ID and whether the tag moved (false: "Image is up to date").
   */
  store(config: Buffer, names: { tag?: Reference; digestRef?: Reference }): Promise<{ id: string; updated: boolean }>;
  /** The `pull` image event, after the image is stored. */
  pulled(id: string, ref: Reference): void;
}

export interface PushImage {
  id: string;
  config: Buffer;
  layers: Array<{ chainId: string; diffId: string; size: number }>;
}

export interface PushSource {
  /** The image a reference names (NotFound with dockerd's wording otherwise). */
  image(name: string): PushImage;
  /** Every tag of a repository and the image it points at (push of a repository). */
  tags(repo: Reference): Array<{ ref: Reference; id: string }>;
  /** The layer's tar, byte for byte as its diff ID says. */
  layerTar(chainId: string): Readable;
  addDigest(ref: Reference, id: string): Promise<void>;
  pushed(id: string, ref: Reference): void;
}

export function pullTarget(svc: ImageService): PullTarget {
  const { images, layers, references } = svc.stores;
  return {
    detached: layers.canPrepareDetached,
    hasLayer: (id) => layers.get(id) !== undefined,
    hold: (id) => layers.acquire(id),
    release: async (id) => { await layers.release(id); },
    prepare: (tar) => layers.prepareDetached(tar),
    discard: (p) => layers.discard(p),
    commit: (p, parent) => layers.commit(p, parent),
    register: (tar, parent) => layers.register(tar, parent),
    hasImage: (id) => images.get(id) !== undefined,
    lookup: (ref) => references.get(ref),
    async store(config, names) {
      const img = await images.create(config);
      let updated = true;
      if (names.tag) {
        updated = references.get(names.tag) !== img.id;
        if (updated) {
          await references.add(names.tag, img.id, true);
          await images.setLastTagTime(img.id, new Date());
        }
      }
      if (names.digestRef) {
        if (!names.tag) updated = references.get(names.digestRef) !== img.id;
        await references.addDigest(names.digestRef, img.id, true).catch((err: unknown) => {
          // An existing digest reference is never moved; it already names this content.
          if (!(err instanceof Conflict)) throw err;
        });
      }
      return { id: img.id, updated };
    },
    pulled: (id, ref) => svc.transferred(id, 'pull', familiarString(ref)),
  };
}

export function pushSource(svc: ImageService): PushSource {
  const { layers, references } = svc.stores;
  return {
    image(name) {
      const img = svc.resolve(name);
      const chain = chainIds(img.config.rootfs.diff_ids);
      return {
        id: img.id,
        config: img.raw,
        layers: chain.map((chainId, i) => ({ chainId, diffId: img.config.rootfs.diff_ids[i]!, size: layers.get(chainId)?.size ?? 0 })),
      };
    },
    tags: (repo) => references.referencesByName(repo).filter((a) => a.ref.tag !== undefined && a.ref.digest === undefined)
      .map((a) => ({ ref: a.ref, id: a.id })),
    layerTar: (chainId) => layers.tar(chainId),
    addDigest: async (ref, id) => {
      await references.addDigest(ref, id, true).catch((err: unknown) => { if (!(err instanceof Conflict)) throw err; });
    },
    pushed: (id, ref) => svc.transferred(id, 'push', familiarString(ref)),
  };
}
