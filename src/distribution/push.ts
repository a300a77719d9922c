import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { LayerGzip } from './compress.js';
import type { Log } from '../lib/log.js';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import type { PushImage, PushSource } from '../image/index.js';
import { familiarString, parseNormalizedNamed, trimNamed, withDigest, type Reference } from '../image/reference/reference.js';
import type { AuthConfig } from './registry/auth.js';
import { RegistryError } from './registry/client.js';
import type { Hosts } from './registry/hosts.js';
import { MediaType, schema2Manifest } from './manifest.js';
import type { Metadata } from './metadata.js';
import type { Progress } from './progress.js';
import { Repository } from './repository.js';

/**
 * Push: the tags of a repository (or one tag) to its registry as schema 2 manifests. Each
 * layer is first looked up in the distribution metadata: a blob the repository already has
 * is skipped (HEAD), one another repository of the registry has is mounted; only the rest is
 * compressed and uploaded, several at once.
 */
export interface PushDeps {
  hosts: Hosts;
  source: PushSource;
  metadata: Metadata;
  maxUploads: number;
  log: Log;
}

interface LayerDescriptor { mediaType: string; size: number; digest: string }

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

export class Pusher {
  readonly #d: PushDeps;

  constructor(deps: PushDeps) {
    this.#d = deps;
  }

  async push(ref: Reference, opts: { auth?: AuthConfig; signal?: AbortSignal }, progress: Progress): Promise<void> {
    const repoRef = trimNamed(ref);
    progress.message(`The push refers to repository [${repoRef.name}]`);
    let targets: Array<{ ref: Reference; id: string }>;
    if (ref.tag !== undefined) {
      let img: PushImage;
      try {
        img = this.#d.source.image(familiarString(ref));
      } catch (err) {
        if (err instanceof NotFound) throw new NotFound(`tag does not exist: ${familiarString(ref)}`);
        throw err;
      }
      targets = [{ ref, id: img.id }];
    } else {
      targets = this.#d.source.tags(repoRef);
      if (targets.length === 0) throw new NotFound(`An image does not exist locally with the tag: ${familiarString(repoRef)}`);
    }
    let repo: Repository;
    try {
      repo = await Repository.open(this.#d.hosts, repoRef, opts.auth, ['pull', 'push'], opts.signal);
    } catch (err) {
      throw pushError(err);
    }
    for (const t of targets) await this.#pushTag(repo, t.ref, this.#d.source.image(t.id), progress, opts.signal);
  }

  async #pushTag(repo: Repository, ref: Reference, img: PushImage, progress: Progress, signal?: AbortSignal): Promise<void> {
    const layers = img.layers;
    // dockerd lists the top layer first.
    const order = layers.map((_, i) => i).reverse();
    for (const i of order) progress.update(short(layers[i]!.diffId), 'Preparing');
    const limit = Math.max(1, this.#d.maxUploads);
    order.forEach((i, n) => { if (n >= limit) progress.update(short(layers[i]!.diffId), 'Waiting'); });
    const results: LayerDescriptor[] = new Array(layers.length);
    let next = 0;
    let failed: unknown;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const worker = async () => {
      while (next < order.length && failed === undefined) {
        const i = order[next++]!;
        try {
          results[i] = await this.#layer(repo, layers[i]!, progress, abort.signal);
        } catch (err) {
          failed ??= err;
          abort.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(limit, order.length) }, worker));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (failed !== undefined) throw pushError(failed);

    try {
      const configDigest = `sha256:${createHash('sha256').update(img.config).digest('hex')}`;
      if ((await repo.stat(configDigest)) === undefined) await repo.uploadWhole(img.config, configDigest, signal);
      const manifest = schema2Manifest({ mediaType: MediaType.dockerConfig, size: img.config.length, digest: configDigest }, results);
      const digest = await repo.putManifest(ref.tag!, manifest, MediaType.dockerManifest);
      await this.#d.source.addDigest(withDigest(trimNamed(ref), digest), img.id);
      this.#d.source.pushed(img.id, ref);
      progress.message(`${ref.tag}: digest: ${digest} size: ${manifest.length}`);
      progress.aux({ Tag: ref.tag, Digest: digest, Size: manifest.length });
    } catch (err) {
      throw pushError(err);
    }
  }

  /** One layer: already there, mounted from a sibling repository, or compressed and uploaded. */
  async #layer(repo: Repository, layer: PushImage['layers'][number], progress: Progress, signal: AbortSignal): Promise<LayerDescriptor> {
    const id = short(layer.diffId);
    const md = this.#d.metadata;
    const known = await md.blobsOf(layer.diffId);
    const sameRegistry = known.filter((k) => registryOf(k.SourceRepository) === repo.ref.domain);
    const desc = (digest: string, size: number): LayerDescriptor => ({ mediaType: MediaType.dockerLayer, size, digest });
    // Known to be in this repository: check it still is.
    for (const k of sameRegistry.filter((k) => k.SourceRepository === repo.ref.name)) {
      const size = await repo.stat(k.Digest);
      if (size !== undefined) {
        progress.update(id, 'Layer already exists');
        return desc(k.Digest, size);
      }
    }
    // In another repository of the same registry: HEAD here first (it may have come another way), then mount.
    for (const k of sameRegistry.filter((k) => k.SourceRepository !== repo.ref.name)) {
      const size = await repo.stat(k.Digest);
      if (size !== undefined) {
        progress.update(id, 'Layer already exists');
        await md.record(layer.diffId, k.Digest, repo.ref.name);
        return desc(k.Digest, size);
      }
      let from: Reference;
      try {
        from = parseNormalizedNamed(k.SourceRepository);
      } catch {
        continue;
      }
      if (await repo.mount(k.Digest, from.path)) {
        const mounted = (await repo.stat(k.Digest)) ?? 0;
        progress.update(id, `Mounted from ${from.path}`);
        await md.record(layer.diffId, k.Digest, repo.ref.name);
        return desc(k.Digest, mounted);
      }
    }
    // Compress and upload.
    const hash = createHash('sha256');
    let compressed = 0;
    let read = 0;
    const counting = new Transform({
      transform(c: Buffer, _e, cb) {
        read += c.length;
        progress.bar(id, 'Pushing', Math.min(read, layer.size), layer.size);
        cb(null, c);
      },
    });
    const hashing = new Transform({
      transform(c: Buffer, _e, cb) { hash.update(c); compressed += c.length; cb(null, c); },
    });
    const tar = this.#d.source.layerTar(layer.chainId);
    const gzip = new LayerGzip();
    tar.on('error', (err) => counting.destroy(err));
    counting.on('error', (err) => gzip.destroy(err));
    gzip.on('error', (err) => hashing.destroy(err));
    tar.pipe(counting).pipe(gzip).pipe(hashing);
    let digest = '';
    await repo.upload(hashing, () => (digest = `sha256:${hash.digest('hex')}`), signal);
    progress.update(id, 'Pushed');
    await md.record(layer.diffId, digest, repo.ref.name);
    return desc(digest, compressed);
  }
}

function registryOf(repository: string): string {
  try {
    return parseNormalizedNamed(repository).domain;
  } catch {
    return '';
  }
}

function pushError(err: unknown): Error {
  if (err instanceof RegistryError) {
    if (err.unauthorized && err.codes.length) return new SystemError(err.message, { cause: err });
    return new SystemError(err.message, { cause: err });
  }
  if (err instanceof InvalidParameter || err instanceof NotFound || err instanceof SystemError) return err;
  const e = err as { message?: string; cause?: { message?: string } };
  return new SystemError(e?.cause?.message ? `${e.message}: ${e.cause.message}` : (e?.message ?? String(err)), { cause: err });
}
