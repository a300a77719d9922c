/**
 * The build cache as dockerd 20.10's image prober. The "local cache" finds a child of the
 * current image whose container_config matches the step's. With `--cache-from`, "source"
 * images (for example pulled ones, which have no parent links) are matched by history: a
 * source whose history starts with the current image's and whose next entry was made by the
 * same command is a hit; the image for that point of its history is recreated (same layers,
 * that history entry) and linked to the current image. After a miss, a stage misses to its end.
 */
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../types/image.js';
import { ENGINE_VERSION } from '../version.js';
import type { BuildBackend, BuildImage } from './backend.js';

/** dockerd's image cache comparison of two container configs. */
export function sameConfig(a: ContainerConfig | undefined, b: ContainerConfig): boolean {
  if (!a || a.OpenStdin || b.OpenStdin) return false;
  if (!!a.AttachStdout !== !!b.AttachStdout || !!a.AttachStderr !== !!b.AttachStderr) return false;
  if ((a.User ?? '') !== (b.User ?? '') || !!a.Tty !== !!b.Tty) return false;
  const eqList = (x?: string[] | null, y?: string[] | null) => (x ?? []).length === (y ?? []).length && (x ?? []).every((v, i) => v === (y ?? [])[i]);
  if (!eqList(a.Cmd, b.Cmd) || !eqList(a.Env, b.Env) || !eqList(a.Entrypoint, b.Entrypoint)) return false;
  const keys = (o?: Record<string, unknown> | null) => Object.keys(o ?? {});
  if (keys(a.Labels).length !== keys(b.Labels).length) return false;
  for (const k of keys(a.Labels)) if (a.Labels![k] !== b.Labels?.[k]) return false;
  if (keys(a.ExposedPorts).length !== keys(b.ExposedPorts).length) return false;
  for (const k of keys(a.ExposedPorts)) if (!(k in (b.ExposedPorts ?? {}))) return false;
  if (keys(a.Volumes).length !== keys(b.Volumes).length) return false;
  for (const k of keys(a.Volumes)) if (!(k in (b.Volumes ?? {}))) return false;
  return true;
}

const sameHistory = (a: HistoryEntry, b: HistoryEntry | undefined) =>
  !!b && (a.created ?? '') === (b.created ?? '') && (a.created_by ?? '') === (b.created_by ?? '')
  && (a.author ?? '') === (b.author ?? '') && (a.comment ?? '') === (b.comment ?? '') && !!a.empty_layer === !!b.empty_layer;

function validParent(img: ImageConfig, parent: ImageConfig | undefined): boolean {
  const h = img.history ?? [];
  if (h.length === 0) return false;
  const ph = parent?.history ?? [];
  const pd = parent?.rootfs.diff_ids ?? [];
  if (!parent || (ph.length === 0 && pd.length === 0)) return true;
  if (ph.length >= h.length || pd.length > img.rootfs.diff_ids.length) return false;
  return ph.every((e, i) => sameHistory(e, h[i])) && pd.every((d, i) => d === img.rootfs.diff_ids[i]);
}

export class ImageCache {
  readonly #b: BuildBackend;
  #sources: BuildImage[] | undefined;
  #busted = false;
  readonly #noCache: boolean;

  constructor(b: BuildBackend, opts: { noCache: boolean; cacheFrom: string[]; warn: (msg: string) => void }) {
    this.#b = b;
    this.#noCache = opts.noCache;
    if (opts.cacheFrom.length) {
      this.#sources = [];
      for (const ref of opts.cacheFrom) {
        try {
          this.#sources.push(b.resolveImage(ref));
        } catch (err) {
          opts.warn(`Could not look up ${ref} for cache resolution, skipping: ${(err as Error).message}`);
        }
      }
    }
  }

  /** A new stage: probing starts again. */
  reset(): void {
    this.#busted = false;
  }

  async probe(parent: BuildImage | undefined, cfg: ContainerConfig): Promise<BuildImage | undefined> {
    if (this.#noCache || this.#busted) return undefined;
    const hit = await this.#get(parent, cfg);
    if (!hit) this.#busted = true;
    return hit;
  }

  #local(parent: BuildImage | undefined, cfg: ContainerConfig): BuildImage | undefined {
    let match: BuildImage | undefined;
    for (const img of this.#b.children(parent?.id ?? '')) {
      if (!sameConfig(img.config.container_config, cfg)) continue;
      if (!match || (match.config.created ?? '') < (img.config.created ?? '')) match = img;
    }
    return match;
  }

  #isAncestor(id: string, ancestor: string): boolean {
    for (let p = this.#b.parentOf(id), n = 0; p && n < 10_000; p = this.#b.parentOf(p), n++) if (p === ancestor) return true;
    return false;
  }

  async #get(parent: BuildImage | undefined, cfg: ContainerConfig): Promise<BuildImage | undefined> {
    const local = this.#local(parent, cfg);
    if (!this.#sources) return local;
    if (local && this.#sources.some((s) => this.#isAncestor(s.id, local.id))) return local;
    const lenHistory = parent?.config.history?.length ?? 0;
    const cmd = (cfg.Cmd ?? []).join(' ');
    for (const target of this.#sources) {
      const th = target.config.history ?? [];
      if (!validParent(target.config, parent?.config) || (th[lenHistory]?.created_by ?? '') !== cmd) continue;
      if (th.length - 1 === lenHistory) {
        if (parent) await this.#b.setParent(target.id, parent.id);
        return this.#b.resolveImage(target.id);
      }
      const history = [...(parent?.config.history ?? []), th[lenHistory]!];
      const diffIds = [...(parent?.config.rootfs.diff_ids ?? [])];
      if (!th[lenHistory]!.empty_layer) {
        const index = th.slice(0, lenHistory).filter((h) => !h.empty_layer).length;
        diffIds.push(target.config.rootfs.diff_ids[index]!);
      }
      const t = target.config;
      const config = {
        ...(t.author ? { author: t.author } : {}),
        architecture: t.architecture, os: t.os, ...(t['os.version'] ? { 'os.version': t['os.version'] } : {}),
        config: cfg, created: history[history.length - 1]!.created, docker_version: ENGINE_VERSION,
        history, rootfs: { type: 'layers', diff_ids: diffIds },
      };
      const id = await this.#b.createImage(Buffer.from(JSON.stringify(config)), parent?.id);
      this.#sources = [target];
      return this.#b.resolveImage(id);
    }
    return undefined;
  }
}
