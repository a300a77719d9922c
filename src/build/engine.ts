/**
 * The builder's backend over the engine's own services: the image service and its stores,
 * the graph driver (for diffs), and the container service.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { ImageService } from '../image/service.js';
import type { GraphDriver } from '../image/drivers/driver.js';
import type { ContainerService } from '../container/service.js';
import { diffTar } from '../image/diff.js';
import { chainIds } from '../image/layer/chain.js';
import { EMPTY_LAYER_DIFF_ID } from '../image/transfer/commit.js';
import { demux } from '../api/stdcopy.js';
import { NotFound } from '../lib/errors.js';
import { ENGINE_VERSION } from '../version.js';
import type { ImageConfig } from '../types/image.js';
import type { BuildBackend, BuildImage } from './backend.js';
import { goConfig } from './goconfig.js';

export function engineBackend(images: ImageService, driver: GraphDriver, containers: ContainerService, pull?: BuildBackend['pull']): BuildBackend {
  const { images: store, layers } = images.stores;
  const rwDiff = (id: string): Readable => {
    const rw = layers.getRW(id);
    if (!rw) throw new NotFound(`no read-write layer for container ${id}`);
    return diffTar(driver, rw.mountId, rw.initId);
  };
  return {
    ...(pull ? { pull } : {}),
    resolveImage: (name) => images.resolve(name),
    children: (parent) => store.all().filter((i) => (i.parent ?? '') === parent),
    async commit(o) {
      const parentCfg: Partial<ImageConfig> = o.parent?.config ?? {};
      const diffIds = [...(parentCfg.rootfs?.diff_ids ?? [])];
      const parentChain = diffIds.length ? chainIds(diffIds).at(-1) : undefined;
      const layer = o.diff ? await layers.register(o.diff, parentChain) : undefined;
      try {
        const empty = !layer || layer.diffId === EMPTY_LAYER_DIFF_ID;
        const created = new Date().toISOString();
        // Keys in the order Go's encoding/json writes dockerd's image.Image.
        const cfg: ImageConfig = {
          created,
          ...(o.containerId ? { container: o.containerId } : {}),
          container_config: goConfig(o.containerConfig),
          docker_version: ENGINE_VERSION,
          ...(o.author ? { author: o.author } : {}),
          config: goConfig(o.config),
          architecture: parentCfg.architecture || 'amd64',
          ...(parentCfg.variant ? { variant: parentCfg.variant } : {}),
          os: parentCfg.os || 'linux',
          rootfs: { type: 'layers', diff_ids: empty ? diffIds : [...diffIds, layer!.diffId] },
          history: [
            ...(parentCfg.history ?? []),
            {
              created, ...(o.author ? { author: o.author } : {}), created_by: (o.containerConfig.Cmd ?? []).join(' '),
              ...(empty ? { empty_layer: true } : {}),
            },
          ],
          ...(parentCfg['os.version'] ? { 'os.version': parentCfg['os.version'] } : {}),
        } as ImageConfig;
        const img = await store.create(Buffer.from(JSON.stringify(cfg)));
        if (o.parent) await store.setParent(img.id, o.parent.id);
        return img.id;
      } finally {
        if (layer) await layers.release(layer.chainId);
      }
    },
    tag: (id, name) => images.tag(id, name, ''),
    parentOf: (id) => store.get(id)?.parent,
    setParent: (id, parent) => store.setParent(id, parent),
    async createImage(raw, parent) {
      const img = await store.create(raw);
      if (parent) await store.setParent(img.id, parent);
      return img.id;
    },
    createContainer: (config) => containers.create(config as Parameters<ContainerService['create']>[0], undefined),
    startContainer: (id) => containers.start(id),
    async attachContainer(id, out) {
      const conn = new PassThrough();
      const sink = (stream: 'stdout' | 'stderr') => new Writable({ write(chunk: Buffer, _e, cb) { out(chunk, stream); cb(); } });
      const reading = demux(conn, sink('stdout'), sink('stderr'));
      await containers.attach(id, conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
      await reading;
    },
    waitContainer: (id) => containers.wait(id, 'not-running').code,
    // As dockerd's builder: anonymous volumes (VOLUME paths) go with the container.
    removeContainer: (id, force) => containers.remove(id, { force, volumes: true }),
    async withContainerRoot(id, fn) {
      const root = await layers.mountRW(id);
      try {
        return await fn(root);
      } finally {
        await layers.unmountRW(id);
      }
    },
    containerDiff: rwDiff,
    async scratchLayer<T>(parent: BuildImage | undefined, fn: (root: string, diff: () => Readable) => Promise<T>): Promise<T> {
      const id = `build-${randomBytes(16).toString('hex')}`;
      await layers.createRW(id, parent?.topLayer, async () => {});
      try {
        const root = await layers.mountRW(id);
        try {
          return await fn(root, () => rwDiff(id));
        } finally {
          await layers.unmountRW(id);
        }
      } finally {
        await layers.releaseRW(id);
      }
    },
  };
}
