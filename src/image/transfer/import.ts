import type { Readable } from 'node:stream';
import { decompressStream } from '../../archive/compression.js';
import type { ImageConfig } from '../../types/image.js';
import type { ImageService } from '../service.js';
import { applyChanges } from './changes.js';
import { ENGINE_VERSION } from '../../version.js';

/**
 * `docker import`: a tar of a root filesystem becomes a one-layer image, with `--change`
 * applied to its config and `--message` as its comment. Returns the image ID.
 */
export async function importImage(
  svc: ImageService, input: Readable, opts: { repo: string; tag: string; message: string; changes: string[] },
): Promise<string> {
  const config = applyChanges({}, opts.changes);
  const { images, layers } = svc.stores;
  const layer = await layers.register(await decompressStream(input), undefined);
  try {
    const created = new Date().toISOString();
    const cfg: ImageConfig = {
      architecture: 'amd64',
      os: 'linux',
      config,
      created,
      docker_version: ENGINE_VERSION,
      ...(opts.message ? { comment: opts.message } : {}),
      history: [{ created, created_by: '', comment: opts.message || 'Imported from -' }],
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    };
    const img = await images.create(Buffer.from(JSON.stringify(cfg)));
    if (opts.repo) await svc.tag(img.id, opts.repo, opts.tag);
    svc.imported(img.id);
    return img.id;
  } finally {
    await layers.release(layer.chainId);
  }
}
