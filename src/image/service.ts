import type { Log } from '../lib/log.js';
import { Conflict, InvalidParameter, NotFound } from '../lib/errors.js';
import { parseFilters, type Filters } from '../api/filters.js';
import type {
  DeleteResponseItem, HistoryResponseItem, ImageInspect, ImageSummary,
} from '../types/image.js';
import type { ImageStore, Image } from './store.js';
import type { LayerStore } from './layer/store.js';
import { chainIds } from './layer/chain.js';
import {
  familiarName, familiarString, parseNormalizedNamed, tagNameOnly, withTag, type Reference,
} from './reference/reference.js';
import type { ReferenceStore } from './reference/store.js';
import { pathMatch } from './glob.js';

/** Containers that use an image, as rmi and prune need to know. */
export interface ImageUsers {
  usedBy(imageId: string): Array<{ id: string; running: boolean }>;
}

export interface EventSink {
  log(type: string, action: string, actor: { ID: string; Attributes: Record<string, string> }): void;
}

export interface ImageServiceDeps {
  images: ImageStore;
  layers: LayerStore;
  references: ReferenceStore;
  events: EventSink;
  users: ImageUsers;
  log: Log;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/**
 * Image operations over the image, layer and reference stores, with dockerd's rules for
 * listing, resolving, tagging and deleting.
 */
export class ImageService {
  readonly #d: ImageServiceDeps;

  constructor(deps: ImageServiceDeps) {
    this.#d = deps;
  }

  get stores(): Pick<ImageServiceDeps, 'images' | 'layers' | 'references'> { return this.#d; }

  /**
   * Finds an image by reference (`busybox`, `busybox:1`, `x@sha256:...`), full ID or unique
   * ID prefix, as dockerd's GetImage does.
   */
  resolve(name: string): Image {
    const byId = /^(sha256:)?[0-9a-f]{1,64}$/.test(name) ? this.#d.images.byPrefix(name) : [];
    if (/^(sha256:)?[0-9a-f]{64}$/.test(name) && byId.length === 1) return byId[0]!;
    let ref: Reference | undefined;
    try {
      ref = parseNormalizedNamed(name);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const id = this.#d.references.get(ref.digest || ref.tag ? ref : tagNameOnly(ref));
      const img = id ? this.#d.images.get(id) : undefined;
      if (img) return img;
    }
    if (byId.length === 1) return byId[0]!;
    if (byId.length > 1) throw new NotFound(`No such image: ${name}`);
    if (!ref && !/^(sha256:)?[0-9a-f]+$/.test(name)) throw new InvalidParameter('invalid reference format');
    throw new NotFound(`No such image: ${name}`);
  }

  #refs(id: string): { tags: string[]; digests: string[] } {
    const tags: string[] = [];
    const digests: string[] = [];
    for (const r of this.#d.references.references(id)) {
      if (r.digest) digests.push(familiarString(r));
      else if (r.tag) tags.push(familiarString(r));
    }
    return { tags, digests };
  }

  list(opts: { all: boolean; filters: Filters }): ImageSummary[] {
    const f = opts.filters;
    f.validate(['dangling', 'label', 'before', 'since', 'reference']);
    const danglingOnly = f.has('dangling') ? f.bool('dangling') === true : false;
    const before = f.has('before') ? this.resolve(f.get('before')[0]!) : undefined;
    const since = f.has('since') ? this.resolve(f.get('since')[0]!) : undefined;
    const created = (i: Image) => Date.parse(i.config.created ?? '') || 0;
    const out: ImageSummary[] = [];
    for (const img of this.#d.images.all()) {
      if (before && created(img) >= created(before)) continue;
      if (since && created(img) <= created(since)) continue;
      if (f.has('label') && !f.matchKVList('label', img.config.config?.Labels ?? {})) continue;
      let tags: string[] = [];
      let digests: string[] = [];
      for (const r of this.#d.references.references(img.id)) {
        if (f.has('reference') && !f.get('reference').some((p) => familiarMatch(p, r))) continue;
        if (r.digest) digests.push(familiarString(r));
        if (r.tag) tags.push(familiarString(r));
      }
      if (tags.length === 0 && digests.length === 0) {
        if (!opts.all && this.#d.images.children(img.id).length > 0) continue;
        if (f.has('dangling') && !danglingOnly) continue;
        if (f.has('reference')) continue;
        tags = ['<none>:<none>'];
        digests = ['<none>@<none>'];
      } else if (danglingOnly && tags.length > 0) {
        continue;
      }
      const size = img.topLayer ? this.#d.layers.chainSize(img.topLayer) : 0;
      out.push({
        Id: img.id, ParentId: img.parent ?? '', RepoTags: tags, RepoDigests: digests,
        Created: Math.floor(created(img) / 1000), Size: size, SharedSize: -1, VirtualSize: size,
        Labels: img.config.config?.Labels ?? {}, Containers: -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created);
  }

  /**
   * The image part of /system/df, as dockerd 20.10's Images(withExtraAttrs): the images
   * `docker images` lists, each with how many containers use it and the bytes of its layers
   * that another listed image shares; and the size of every layer in the store.
   */
  diskUsage(containerImages: string[]): { LayersSize: number; Images: ImageSummary[] } {
    const images = this.list({ all: false, filters: parseFilters(undefined) });
    const uses = new Map<string, number>();
    for (const id of containerImages) uses.set(id, (uses.get(id) ?? 0) + 1);
    const chains = new Map<string, string[]>();
    const refs = new Map<string, number>();
    for (const summary of images) {
      const top = this.#d.images.get(summary.Id)?.topLayer;
      const chain = top ? this.#d.layers.chain(top).map((l) => l.chainId) : [];
      chains.set(summary.Id, chain);
      for (const c of chain) refs.set(c, (refs.get(c) ?? 0) + 1);
    }
    for (const summary of images) {
      summary.Containers = uses.get(summary.Id) ?? 0;
      summary.SharedSize = (chains.get(summary.Id) ?? [])
        .filter((c) => (refs.get(c) ?? 0) > 1)
        .reduce((n, c) => n + (this.#d.layers.get(c)?.size ?? 0), 0);
    }
    return { LayersSize: this.#d.layers.all().reduce((n, l) => n + l.size, 0), Images: images };
  }

  inspect(name: string): ImageInspect {
    const img = this.resolve(name);
    const { tags, digests } = this.#refs(img.id);
    const c = img.config;
    const size = img.topLayer ? this.#d.layers.chainSize(img.topLayer) : 0;
    return {
      Id: img.id,
      RepoTags: tags,
      RepoDigests: digests,
      Parent: img.parent ?? '',
      Comment: c.comment ?? '',
      Created: c.created ?? '0001-01-01T00:00:00Z',
      Container: c.container ?? '',
      ContainerConfig: c.container_config ?? emptyConfig(),
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: c.config ?? emptyConfig(),
      Architecture: c.architecture,
      ...(c.variant ? { Variant: c.variant } : {}),
      Os: c.os,
      ...(c['os.version'] ? { OsVersion: c['os.version'] } : {}),
      Size: size,
      VirtualSize: size,
      GraphDriver: { Name: this.#d.layers.driver.name, Data: this.#graphData(img) },
      RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }

  #graphData(img: Image): Record<string, string> | null {
    if (!img.topLayer) return null;
    const chain = this.#d.layers.chain(img.topLayer);
    const top = chain[chain.length - 1]!;
    const driver = this.#d.layers.driver;
    if (driver.name !== 'overlay2') return null;
    const upper = driver.diffPath(top.cacheId);
    const base = upper.replace(/\/diff$/, '');
    const lower = chain.slice(0, -1).reverse().map((l) => driver.diffPath(l.cacheId));
    return {
      ...(lower.length ? { LowerDir: lower.join(':') } : {}),
      MergedDir: `${base}/merged`, UpperDir: upper, WorkDir: `${base}/work`,
    };
  }

  history(name: string): HistoryResponseItem[] {
    const img = this.resolve(name);
    const diffIds = img.config.rootfs.diff_ids;
    const chain = chainIds(diffIds);
    let layer = 0;
    const items: HistoryResponseItem[] = [];
    for (const h of img.config.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        if (layer >= chain.length) throw new InvalidParameter('too many non-empty layers in History section');
        size = this.#d.layers.get(chain[layer]!)?.size ?? 0;
        layer++;
      }
      items.unshift({
        Id: '<missing>', Created: Math.floor((Date.parse(h.created ?? '') || 0) / 1000), CreatedBy: h.created_by ?? '',
        Tags: null, Size: size, Comment: h.comment ?? '',
      });
    }
    let cur: Image | undefined = img;
    for (const item of items) {
      if (!cur) break;
      item.Id = cur.id;
      const tags = this.#refs(cur.id).tags;
      item.Tags = tags.length ? tags : null;
      cur = cur.parent ? this.#d.images.get(cur.parent) : undefined;
    }
    return items;
  }

  /** docker tag: points `repo[:tag]` at the image, replacing what it pointed at. */
  async tag(name: string, repo: string, tag: string): Promise<string> {
    const img = this.resolve(name);
    let ref = parseNormalizedNamed(repo);
    if (ref.digest) throw new InvalidParameter('refusing to create a tag with a digest reference');
    if (tag) ref = withTag(ref, tag);
    ref = tagNameOnly(ref);
    await this.#d.references.add(ref, img.id, true);
    await this.#d.images.setLastTagTime(img.id, new Date());
    this.#event(img.id, 'tag', familiarString(ref));
    return familiarString(ref);
  }

  /** Events of the transfer operations, published once the images are stored. */
  loaded(id: string, tags: string[]): void { this.#event(id, 'load', tags[0] ?? id); }
  saved(id: string): void { this.#event(id, 'save', id); }
  imported(id: string): void { this.#event(id, 'import', id); }
  /** `pull` and `push` events of the distribution subsystem, named by the reference moved. */
  transferred(id: string, action: 'pull' | 'push', name: string): void { this.#event(id, action, name); }

  #event(id: string, action: string, name: string): void {
    this.#d.events.log('image', action, { ID: id, Attributes: { name } });
  }

  /** docker rmi, with dockerd's untag-then-delete rules and conflict wording. */
  async remove(name: string, opts: { force: boolean; prune: boolean }): Promise<DeleteResponseItem[]> {
    const img = this.resolve(name);
    const records: DeleteResponseItem[] = [];
    let repoRefs = this.#d.references.references(img.id);
    let removedRepositoryRef = false;
    const isIdPrefix = /^(sha256:)?[0-9a-f]+$/.test(name) && img.id.replace('sha256:', '').startsWith(name.replace('sha256:', ''));
    if (!isIdPrefix) {
      if (!opts.force && isSingleReference(repoRefs)) {
        const user = this.#d.users.usedBy(img.id)[0];
        if (user) {
          throw new Conflict(`conflict: unable to remove repository reference "${name}" (must force) - container ${short(user.id)} is using its referenced image ${short(img.id)}`);
        }
      }
      const parsed = this.#resolveRef(name);
      await this.#d.references.delete(parsed);
      records.push({ Untagged: familiarString(parsed) });
      this.#event(img.id, 'untag', familiarString(parsed));
      repoRefs = this.#d.references.references(img.id);
      if (!parsed.digest && !repoRefs.some((r) => !r.digest && r.name === parsed.name)) {
        const remaining: Reference[] = [];
        for (const r of repoRefs) {
          if (r.digest && r.name === parsed.name) {
            await this.#d.references.delete(r);
            records.push({ Untagged: familiarString(r) });
          } else remaining.push(r);
        }
        repoRefs = remaining;
      }
      if (repoRefs.length > 0) return records;
      removedRepositoryRef = true;
    } else if (isSingleReference(repoRefs)) {
      const conflict = this.#conflict(img.id, { hard: true, soft: !opts.force, activeReference: false });
      if (conflict) throw new Conflict(conflict.message);
      for (const r of repoRefs) {
        await this.#d.references.delete(r);
        records.push({ Untagged: familiarString(r) });
        this.#event(img.id, 'untag', familiarString(r));
      }
    }
    await this.#deleteHelper(img.id, records, opts.force, opts.prune, removedRepositoryRef);
    return records;
  }

  #resolveRef(name: string): Reference {
    const ref = parseNormalizedNamed(name);
    return ref.digest || ref.tag ? ref : tagNameOnly(ref);
  }

  #conflict(id: string, mask: { hard: boolean; soft: boolean; activeReference: boolean }):
    { message: string; hard: boolean; used: boolean } | undefined {
    const make = (hard: boolean, used: boolean, msg: string) => ({
      hard, used, message: `conflict: unable to delete ${short(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${msg}`,
    });
    if (mask.hard && this.#d.images.children(id).length > 0) return make(true, false, 'image has dependent child images');
    const users = this.#d.users.usedBy(id);
    const running = users.find((u) => u.running);
    if (mask.hard && running) return make(true, true, `image is being used by running container ${short(running.id)}`);
    if (mask.soft && mask.activeReference && this.#d.references.references(id).length > 0) {
      return make(false, false, 'image is referenced in one or more repositories');
    }
    const stopped = users.find((u) => !u.running);
    if (mask.soft && stopped) return make(false, true, `image is being used by stopped container ${short(stopped.id)}`);
    return undefined;
  }

  async #deleteHelper(id: string, records: DeleteResponseItem[], force: boolean, prune: boolean, quiet: boolean): Promise<void> {
    const conflict = this.#conflict(id, { hard: true, soft: !force, activeReference: true });
    if (conflict) {
      const dangling = this.#d.references.references(id).length === 0;
      if (quiet && (!dangling || conflict.used)) return;
      throw new Conflict(conflict.message);
    }
    const parent = this.#d.images.get(id)?.parent;
    for (const r of this.#d.references.references(id)) {
      await this.#d.references.delete(r);
      records.push({ Untagged: familiarString(r) });
      this.#event(id, 'untag', familiarString(r));
    }
    const removedLayers = await this.#d.images.delete(id);
    this.#event(id, 'delete', id);
    records.push({ Deleted: id });
    for (const l of removedLayers) records.push({ Deleted: l });
    if (prune && parent && this.#d.images.get(parent)) await this.#deleteHelper(parent, records, false, true, true);
  }

  /** docker image prune: dangling images by default, every unused one with dangling=false. */
  async prune(filters: Filters): Promise<{ ImagesDeleted: DeleteResponseItem[] | null; SpaceReclaimed: number }> {
    filters.validate(['dangling', 'label', 'label!', 'until']);
    const danglingOnly = filters.has('dangling') ? filters.bool('dangling') !== false : true;
    const until = filters.has('until') ? untilTime(filters.get('until')[0]!) : undefined;
    const deleted: DeleteResponseItem[] = [];
    let reclaimed = 0;
    for (const img of this.#d.images.all()) {
      if (!this.#d.images.get(img.id)) continue;
      const refs = this.#d.references.references(img.id);
      if (danglingOnly && refs.length > 0) continue;
      if (this.#d.users.usedBy(img.id).length > 0) continue;
      if (this.#d.images.children(img.id).length > 0) continue;
      if (until !== undefined && (Date.parse(img.config.created ?? '') || 0) >= until) continue;
      const labels = img.config.config?.Labels ?? {};
      if (filters.has('label') && !filters.matchKVList('label', labels)) continue;
      if (filters.has('label!') && filters.matchKVList('label!', labels)) continue;
      const before = this.#d.layers.all().reduce((n, l) => n + l.size, 0);
      const records: DeleteResponseItem[] = [];
      try {
        if (refs.length === 0) {
          await this.#deleteHelper(img.id, records, false, true, false);
        } else {
          for (const r of refs) records.push(...(await this.remove(familiarString(r), { force: false, prune: true })));
        }
      } catch (err) {
        if (err instanceof Conflict) continue;
        throw err;
      }
      deleted.push(...records);
      reclaimed += before - this.#d.layers.all().reduce((n, l) => n + l.size, 0);
    }
    this.#d.events.log('image', 'prune', { ID: '', Attributes: { reclaimed: String(reclaimed) } });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }
}

function emptyConfig() {
  return {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
    WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
  };
}

/** One repository, at most one tag (dockerd's isSingleReference). */
function isSingleReference(refs: Reference[]): boolean {
  const names = new Set(refs.map((r) => r.name));
  return names.size <= 1 && refs.filter((r) => r.tag && !r.digest).length <= 1;
}

/** reference.FamiliarMatch: the pattern against the familiar string, then the familiar name. */
function familiarMatch(pattern: string, ref: Reference): boolean {
  try {
    return pathMatch(pattern, familiarString(ref)) || pathMatch(pattern, familiarName(ref));
  } catch {
    throw new InvalidParameter(`invalid filter: reference pattern ${pattern} is malformed`);
  }
}

function untilTime(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  if (!Number.isNaN(t)) return t;
  const m = /^(\d+)(s|m|h)$/.exec(value);
  if (m) return Date.now() - Number(m[1]) * ({ s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 's' | 'm' | 'h'];
  throw new InvalidParameter(`invalid filter 'until=${value}'`);
}
