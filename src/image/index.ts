import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Log } from '../lib/log.js';
import { openDriver } from './drivers/index.js';
import type { GraphDriver } from './drivers/driver.js';
import { LayerStore } from './layer/store.js';
import { ImageStore } from './store.js';
import { ReferenceStore, ReferenceStoreLoadError } from './reference/store.js';
import { rename } from 'node:fs/promises';
import { ImageService, type EventSink, type ImageUsers } from './service.js';
import { layerApplier } from './applier.js';
import { loadImages } from './transfer/load.js';
import { saveImages } from './transfer/save.js';
import { importImage } from './transfer/import.js';

export { ImageService } from './service.js';
export type { ImageUsers, EventSink } from './service.js';
export { pullTarget, pushSource } from './transfer/pull-commit.js';
export type { PullTarget, PushSource, PushImage } from './transfer/pull-commit.js';

export interface ImagesOptions {
  dataRoot: string;
  /** Empty: pick at first start, then keep what was picked. */
  storageDriver: string;
  tmpDir: string;
  events: EventSink;
  users: ImageUsers;
  log: Log;
}

/**
 * The image subsystem's front door: opens the graph driver, the layer, image and reference
 * stores (damaged entries are logged and skipped), prunes layers that no image holds, and
 * returns the service the API and the other subsystems use.
 */
export class Images {
  readonly service: ImageService;
  readonly driver: GraphDriver;
  readonly #tmp: string;

  private constructor(service: ImageService, driver: GraphDriver, tmp: string) {
    this.service = service;
    this.driver = driver;
    this.#tmp = tmp;
  }

  static async open(opts: ImagesOptions): Promise<Images> {
    const driver = await openDriver(opts.dataRoot, opts.storageDriver, opts.log);
    const root = join(opts.dataRoot, 'image', driver.name);
    const layers = await LayerStore.open({ root, driver, applier: layerApplier(driver), log: opts.log });
    const images = await ImageStore.open({ root, layers, log: opts.log });
    const references = await openReferences(join(root, 'repositories.json'), opts.log);
    const pruned = await layers.prune();
    if (pruned > 0) opts.log.info({ layers: pruned }, 'removed layers no image refers to');
    const service = new ImageService({ images, layers, references, events: opts.events, users: opts.users, log: opts.log });
    return new Images(service, driver, opts.tmpDir);
  }

  load(input: Readable, signal?: AbortSignal) { return loadImages(this.service, input, this.#tmp, signal); }
  save(names: string[]): Readable { return saveImages(this.service, names); }
  import(input: Readable, opts: { repo: string; tag: string; message: string; changes: string[] }) {
    return importImage(this.service, input, opts);
  }

  /** Unmounts the layers; those of `keepContainers` stay mounted (live-restore). */
  async close(keepContainers: string[] = []): Promise<void> {
    const keep = new Set<string>();
    for (const id of keepContainers) {
      const rw = this.service.stores.layers.getRW(id);
      if (rw) keep.add(rw.mountId);
    }
    await this.driver.cleanup(keep);
  }
}

/** A damaged repositories.json is set aside (kept for a person to look at), never fatal. */
async function openReferences(path: string, log: Log): Promise<ReferenceStore> {
  try {
    return await ReferenceStore.open(path);
  } catch (err) {
    if (!(err instanceof ReferenceStoreLoadError)) throw err;
    const aside = `${path}.damaged-${Date.now()}`;
    log.error({ err: err.message, movedTo: aside }, 'the reference store is damaged; starting with no tags');
    await rename(path, aside);
    return ReferenceStore.open(path);
  }
}
