import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { tarStream } from '../../archive/writer.js';
import { splitSize } from '../../archive/split.js';
import type { ImageService } from '../service.js';
import type { Image } from '../store.js';
import { chainIds, hexOf } from '../layer/chain.js';
import { familiarString, parseNormalizedNamed, tagNameOnly } from '../reference/reference.js';

/**
 * `docker save`: the images named, as a docker-archive tar that `docker load` of Berth or
 * Docker reads: a directory per layer (VERSION, json, layer.tar with the layer's exact bytes),
 * a config file per image, manifest.json and repositories. Names resolve before the first
 * byte, so an unknown one is a 404, not a torn archive.
 */
export function saveImages(svc: ImageService, names: string[]): Readable {
  const { layers, references } = svc.stores;
  // As dockerd: `repo:tag` exports that tag, a bare `repo` every tag of that repository, an
  // image ID the image with no tags.
  const wanted = new Map<string, { img: Image; tags: string[] }>();
  const want = (img: Image, tag?: string) => {
    const entry = wanted.get(img.id) ?? { img, tags: [] };
    wanted.set(img.id, entry);
    if (tag && !entry.tags.includes(tag)) entry.tags.push(tag);
  };
  for (const name of names) {
    const img = svc.resolve(name);
    if (img.id.replace('sha256:', '').startsWith(name.replace(/^sha256:/, ''))) {
      want(img);
      continue;
    }
    const ref = parseNormalizedNamed(name);
    if (ref.tag || ref.digest) {
      want(img, ref.tag ? familiarString(ref) : undefined);
      continue;
    }
    for (const { ref: r, id } of references.referencesByName(tagNameOnly(ref))) {
      const other = id === img.id ? img : svc.resolve(id);
      want(other, r.tag && !r.digest ? familiarString(r) : undefined);
    }
  }

  return tarStream(async (w) => {
    const written = new Set<string>();
    const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { img, tags } of wanted.values()) {
      const chain = chainIds(img.config.rootfs.diff_ids);
      const layerPaths: string[] = [];
      let parentV1 = '';
      for (let i = 0; i < chain.length; i++) {
        const chainId = chain[i]!;
        // Legacy v1 layer IDs: derived from the chain, stable for the same layers.
        const v1 = createHash('sha256').update(`${parentV1} ${chainId}`).digest('hex');
        layerPaths.push(`${v1}/layer.tar`);
        if (!written.has(v1)) {
          written.add(v1);
          const size = await splitSize(layers.splitPath(chainId));
          const json = { id: v1, ...(parentV1 ? { parent: parentV1 } : {}), created: '0001-01-01T00:00:00Z', container_config: {}, os: img.config.os };
          await w.addEntry({ name: `${v1}/`, type: 'dir', mode: 0o755 });
          await w.addEntry({ name: `${v1}/VERSION`, type: 'file', mode: 0o644 }, Buffer.from('1.0'));
          await w.addEntry({ name: `${v1}/json`, type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(json)));
          await w.addEntry({ name: `${v1}/layer.tar`, type: 'file', mode: 0o644, size }, layers.tar(chainId));
        }
        parentV1 = v1;
      }
      await w.addEntry({ name: `${hexOf(img.id)}.json`, type: 'file', mode: 0o644 }, img.raw);
      manifest.push({ Config: `${hexOf(img.id)}.json`, RepoTags: tags.length ? tags : null, Layers: layerPaths });
      for (const t of tags) {
        const i = t.lastIndexOf(':');
        (repositories[t.slice(0, i)] ??= {})[t.slice(i + 1)] = parentV1;
      }
      svc.saved(img.id);
    }
    await w.addEntry({ name: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(manifest)));
    if (Object.keys(repositories).length) {
      await w.addEntry({ name: 'repositories', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(repositories)));
    }
  });
}
