import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { GraphDriver } from './drivers/driver.js';
import type { LayerApplier } from './layer/store.js';
import { applyTar } from './apply.js';
import { assemble } from '../archive/split.js';

/** Tar diffs in and out of a driver's layer directories, for the layer store. */
export function layerApplier(driver: GraphDriver): LayerApplier {
  return {
    apply: (id, _parent, tar, split) => applyTar(driver.diffPath(id), tar, { whiteouts: driver.whiteouts, split }),
    assemble: (id, split) => assemble(split, async (path) => createReadStream(join(driver.diffPath(id), path))),
  };
}
