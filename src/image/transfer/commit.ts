import type { Readable } from 'node:stream';
import type { ContainerConfig, ImageConfig } from '../../types/image.js';
import type { ImageService } from '../service.js';
import { applyChanges } from './changes.js';
import { chainIds } from '../layer/chain.js';
import { ENGINE_VERSION } from '../../version.js';

/** The diff ID of a tar with no entries (two zero blocks): a commit that changed nothing. */
export const EMPTY_LAYER_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export interface CommitOptions {
  /** The container's image. */
  parentId: string;
  /** The container's diff over its image (init files excluded), with AUFS whiteouts. */
  diff: Readable;
  containerId: string;
  /** The container's config: the image's config, with `changes` applied, and container_config. */
  containerConfig: ContainerConfig;
  /** A config sent with the request replaces the container's before the changes apply. */
  config?: ContainerConfig;
  changes: string[];
  author: string;
  comment: string;
  repo: string;
  tag: string;
}

/**
 * `docker commit`: the container's changes become a new layer over its image (none when
 * nothing changed, as dockerd records an empty layer), with the history entry dockerd writes.
 */
export async function commitImage(svc: ImageService, o: CommitOptions): Promise<string> {
  const { images, layers } = svc.stores;
  const parent = svc.resolve(o.parentId);
  const parentCfg = parent.config;
  const diffIds = [...(parentCfg.rootfs?.diff_ids ?? [])];
  const parentChain = diffIds.length ? chainIds(diffIds).at(-1) : undefined;
  const layer = await layers.register(o.diff, parentChain);
  try {
    const empty = layer.diffId === EMPTY_LAYER_DIFF_ID;
    const created = new Date().toISOString();
    const config = applyChanges({ ...(o.config ?? o.containerConfig) }, o.changes);
    const cfg: ImageConfig = {
      ...parentCfg,
      architecture: parentCfg.architecture || 'amd64',
      os: parentCfg.os || 'linux',
      config,
      container: o.containerId,
      container_config: o.containerConfig,
      created,
      docker_version: ENGINE_VERSION,
      ...(o.author ? { author: o.author } : {}),
      ...(o.comment ? { comment: o.comment } : {}),
      history: [
        ...(parentCfg.history ?? []),
        {
          created, created_by: (o.containerConfig.Cmd ?? []).join(' '),
          ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        },
      ],
      rootfs: { type: 'layers', diff_ids: empty ? diffIds : [...diffIds, layer.diffId] },
    };
    if (!o.author) delete cfg.author;
    if (!o.comment) delete cfg.comment;
    const img = await images.create(Buffer.from(JSON.stringify(cfg)));
    await images.setParent(img.id, parent.id);
    if (o.repo) await svc.tag(img.id, o.repo, o.tag || 'latest');
    return img.id;
  } finally {
    await layers.release(layer.chainId);
  }
}
