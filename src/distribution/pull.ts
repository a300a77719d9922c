import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Log } from '../lib/log.js';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import { decompressStream } from '../archive/compression.js';
import type { PullTarget } from '../image/index.js';
import { chainIds } from '../image/layer/chain.js';
import {
  familiarName, familiarString, withDigest, withTag, trimNamed, type Reference,
} from '../image/reference/reference.js';
import type { Pending } from '../image/layer/store.js';
import type { ImageConfig } from '../types/image.js';
import type { AuthConfig } from './registry/auth.js';
import { RegistryError, describe } from './registry/client.js';
import type { Endpoint, Hosts } from './registry/hosts.js';
import { MediaType, parseManifest, platformString, selectPlatform, type Descriptor, type Platform } from './manifest.js';
import type { Metadata } from './metadata.js';
import type { Progress } from './progress.js';
import { Repository } from './repository.js';

/**
 * Pull: a tag or digest of one repository (or every tag) into the image store. Layers stream
 * from the registry through digest verification and decompression straight into the layer
 * store, several at once; the image exists only once every layer is in and verified, and a
 * failure releases every layer this pull made.
 */
export interface PullDeps {
  hosts: Hosts;
  target: PullTarget;
  metadata: Metadata;
  tmpDir: string;
  maxDownloads: number;
  maxAttempts: number;
  log: Log;
}

export interface PullOptions {
  auth?: AuthConfig;
  platform?: Platform;
  signal?: AbortSignal;
}

/** A failed download that another attempt will not fix. */
class Permanent extends Error {}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

export class Puller {
  readonly #d: PullDeps;

  constructor(deps: PullDeps) {
    this.#d = deps;
  }

  /**
   * As dockerd: each --registry-mirror of docker.io in turn, and any failure on a mirror
   * (down, no such image, a bad blob) moves on to the next endpoint, the last being Docker
   * Hub itself; what a failed attempt fetched is released with it.
   */
  async pull(ref: Reference, opts: PullOptions, progress: Progress, want: Platform): Promise<void> {
    const endpoints = await this.#d.hosts.endpoints(ref.domain);
    for (const mirror of endpoints.filter((e) => e.mirror)) {
      try {
        return await this.#pullFrom([mirror], ref, opts, progress, want);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        this.#d.log.info({ err, mirror: mirror.url, ref: familiarString(ref) }, 'pull from mirror failed, trying the next endpoint');
      }
    }
    return this.#pullFrom(endpoints.filter((e) => !e.mirror), ref, opts, progress, want);
  }

  async #pullFrom(endpoints: Endpoint[], ref: Reference, opts: PullOptions, progress: Progress, want: Platform): Promise<void> {
    const repo = await this.#open(endpoints, ref, opts);
    if (ref.tag === undefined && ref.digest === undefined) {
      const tags = await repo.tags().catch((err: unknown) => { throw translate(err, ref); });
      let updated = false;
      for (const t of tags) updated = (await this.#pullOne(repo, withTag(ref, t), opts, progress, want)) || updated;
      progress.message(`Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(ref)}`);
      return;
    }
    const updated = await this.#pullOne(repo, ref, opts, progress, want);
    progress.message(`Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}`);
  }

  async #open(endpoints: Endpoint[], ref: Reference, opts: PullOptions): Promise<Repository> {
    try {
      return await Repository.open(this.#d.hosts, trimNamed(ref), opts.auth, ['pull'], opts.signal, endpoints);
    } catch (err) {
      throw translate(err, ref);
    }
  }

  /** One tag or digest; true when a tag now points at a new image. */
  async #pullOne(repo: Repository, ref: Reference, opts: PullOptions, progress: Progress, want: Platform): Promise<boolean> {
    const tagOrDigest = ref.digest ?? ref.tag!;
    let m: Awaited<ReturnType<Repository['manifest']>>;
    try {
      m = await repo.manifest(tagOrDigest);
    } catch (err) {
      throw translate(err, ref);
    }
    let parsed = parseManifest(m.body, m.contentType);
    const topDigest = m.digest;
    if (parsed.kind === 'schema1') throw schema1Error(ref);
    if (parsed.kind === 'list') {
      const pick = selectPlatform(parsed.manifests, want);
      if (!pick) throw new NotFound(`no matching manifest for ${platformString(want)} in the manifest list entries`);
      try {
        m = await repo.manifest(pick.digest);
      } catch (err) {
        throw translate(err, ref);
      }
      parsed = parseManifest(m.body, m.contentType);
      if (parsed.kind === 'schema1') throw schema1Error(ref);
      if (parsed.kind !== 'manifest') throw new InvalidParameter('manifest list entry is not an image manifest');
    }
    const manifest = parsed;
    progress.message(`Pulling from ${repo.path}`, tagOrDigest);

    const config = await this.#config(repo, manifest.config, opts.signal);
    const cfg = parseConfig(config);
    if (cfg.os && cfg.os !== 'linux') throw new InvalidParameter(`image operating system "${cfg.os}" cannot be used on this platform`);
    const layers = manifest.layers.filter((l) => l.mediaType !== MediaType.dockerForeignLayer || !l.urls?.length);
    const diffIds = cfg.rootfs.diff_ids;
    if (layers.length !== diffIds.length) throw new InvalidParameter("layers from manifest don't match image configuration");
    for (const l of layers) checkLayerType(l);

    const { id, updated } = await this.#layers(repo, layers, diffIds, progress, opts.signal, () => {
      const names = ref.digest ? { digestRef: ref } : { tag: ref, digestRef: withDigest(trimNamed(ref), topDigest) };
      return this.#d.target.store(config, names);
    });
    this.#d.target.pulled(id, ref);
    progress.message(`Digest: ${topDigest}`);
    await Promise.all(layers.map((l, i) => this.#d.metadata.record(diffIds[i]!, l.digest, repo.ref.name)
      .catch((err: unknown) => this.#d.log.warn({ err }, 'could not record distribution metadata'))));
    return updated;
  }

  async #config(repo: Repository, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    const { body } = await repo.blob(desc.digest, signal).catch((err: unknown) => { throw translate(err, repo.ref); });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body) {
      size += (c as Buffer).length;
      if (size > 8 * 1024 * 1024) throw new InvalidParameter('image config is too large');
      chunks.push(c as Buffer);
    }
    const buf = Buffer.concat(chunks);
    const got = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
    if (got !== desc.digest) throw new InvalidParameter(`image config verification failed for digest ${desc.digest}`);
    return buf;
  }

  /**
   * Brings every layer into the store, then runs `done` while they are held, then lets them
   * go (the image holds them by then). On failure nothing this pull applied remains.
   */
  async #layers<T>(repo: Repository, layers: Descriptor[], diffIds: string[], progress: Progress,
    signal: AbortSignal | undefined, done: () => Promise<T>): Promise<T> {
    const t = this.#d.target;
    const chain = chainIds(diffIds);
    let present = -1;
    for (let i = chain.length - 1; i >= 0; i--) if (t.hasLayer(chain[i]!)) { present = i; break; }
    const held: string[] = [];
    if (present >= 0) { t.hold(chain[present]!); held.push(chain[present]!); }
    for (let i = 0; i <= present; i++) progress.update(short(layers[i]!.digest), 'Already exists');

    const todo = layers.map((l, i) => ({ l, i })).filter(({ i }) => i > present);
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const prepared: Array<Promise<Pending | string>> = [];
    const limit = Math.max(1, this.#d.maxDownloads);
    let running = 0;
    const queue: Array<() => void> = [];
    const slot = async () => {
      if (running < limit) { running++; return; }
      await new Promise<void>((resolve) => queue.push(resolve));
    };
    const free = () => { const next = queue.shift(); if (next) next(); else running--; };

    for (const { l } of todo) progress.update(short(l.digest), 'Pulling fs layer');
    todo.forEach(({ l }, n) => { if (n >= limit) progress.update(short(l.digest), 'Waiting'); });
    for (const { l, i } of todo) {
      prepared.push((async () => {
        await slot();
        try {
          if (abort.signal.aborted) throw new SystemError('pull canceled');
          return await this.#fetch(repo, l, diffIds[i]!, progress, abort.signal);
        } finally {
          free();
        }
      })());
    }
    // Failures of the downloads are observed below, in order; keep them from going unhandled.
    for (const p of prepared) p.catch(() => {});

    let failure: unknown;
    let committed = 0;
    try {
      for (let n = 0; n < todo.length; n++) {
        const { l, i } = todo[n]!;
        const got = await prepared[n]!;
        const id = short(l.digest);
        const parent = i > 0 ? chain[i - 1] : undefined;
        let layer;
        if (typeof got === 'string') {
          progress.bar(id, 'Extracting', 0, l.size);
          layer = await t.register(await extracting(createReadStream(got), l.size, (c) => progress.bar(id, 'Extracting', c, l.size)), parent)
            .finally(() => rm(got, { force: true }));
        } else {
          progress.bar(id, 'Extracting', l.size, l.size);
          layer = await t.commit(got, parent);
        }
        committed++;
        held.push(layer.chainId);
        if (layer.diffId !== diffIds[i]) throw new InvalidParameter("layers from manifest don't match image configuration");
        progress.update(id, 'Pull complete');
      }
      return await done();
    } catch (err) {
      failure = err;
      abort.abort();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) {
        // Whatever was applied but not committed is dropped; temp files go too.
        const rest = await Promise.allSettled(prepared.slice(committed));
        for (const r of rest) {
          if (r.status !== 'fulfilled') continue;
          if (typeof r.value === 'string') await rm(r.value, { force: true });
          else await t.discard(r.value).catch(() => {});
        }
      }
      for (const id of held.reverse()) await t.release(id).catch((err: unknown) => this.#d.log.warn({ err, layer: id }, 'could not release a layer'));
    }
  }

  /**
   * Downloads one layer, retrying a broken transfer: into the layer store at once when the
   * driver can apply a layer before its parent, else into a temp file (its path returned).
   */
  async #fetch(repo: Repository, l: Descriptor, diffId: string, progress: Progress, signal: AbortSignal): Promise<Pending | string> {
    const id = short(l.digest);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#fetchOnce(repo, l, diffId, progress, signal);
      } catch (err) {
        if (signal.aborted || err instanceof Permanent || attempt >= this.#d.maxAttempts || !retryable(err)) {
          throw err instanceof Permanent ? new InvalidParameter(err.message) : translate(err, repo.ref);
        }
        const wait = Math.min(5, attempt);
        this.#d.log.info({ layer: l.digest, attempt, err: (err as Error).message }, 'layer download failed; retrying');
        for (let s = wait; s > 0; s--) {
          progress.update(id, `Retrying in ${s} second${s > 1 ? 's' : ''}`);
          await new Promise((r) => setTimeout(r, 1000));
          if (signal.aborted) throw new SystemError('pull canceled');
        }
      }
    }
  }

  async #fetchOnce(repo: Repository, l: Descriptor, diffId: string, progress: Progress, signal: AbortSignal): Promise<Pending | string> {
    const id = short(l.digest);
    const t = this.#d.target;
    const { body } = await repo.blob(l.digest, signal);
    const total = l.size;
    let current = 0;
    const hash = createHash(l.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    let verified = false;
    const verify = new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        current += chunk.length;
        progress.bar(id, 'Downloading', current, total);
        cb(null, chunk);
      },
      flush(cb) {
        const got = `${l.digest.split(':')[0]}:${hash.digest('hex')}`;
        if (got !== l.digest) { cb(new Permanent(`filesystem layer verification failed for digest ${l.digest}`)); return; }
        verified = true;
        progress.update(id, 'Verifying Checksum');
        progress.update(id, 'Download complete');
        cb();
      },
    });
    if (t.detached) {
      const tar = await decompressStream(verifyStream(body, verify));
      const p = await t.prepare(tar).catch((err: unknown) => { throw unwrapPermanent(err, verify); });
      if (!verified) { await t.discard(p); throw new Permanent(`filesystem layer verification failed for digest ${l.digest}`); }
      if (p.diffId !== diffId) { await t.discard(p); throw new Permanent("layers from manifest don't match image configuration"); }
      return p;
    }
    const path = join(this.#d.tmpDir, `pull-${randomBytes(8).toString('hex')}`);
    try {
      await pipeline(body, verify, createWriteStream(path, { mode: 0o600 }));
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return path;
  }
}

/** The verifying transform fed from the body, with a body error carried through it. */
function verifyStream(body: Readable, verify: Transform): Readable {
  body.on('error', (err) => verify.destroy(err));
  body.pipe(verify);
  return verify;
}

/** The applier wraps stream errors; the verification failure inside must win. */
function unwrapPermanent(err: unknown, verify: Transform): unknown {
  const seen = verify.errored as Error | null;
  if (seen instanceof Permanent) return seen;
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined) {
    if (e instanceof Permanent) return e;
  }
  if (seen) return seen;
  return err;
}

/** A file read back for extraction, with the Extracting bar over its compressed bytes. */
async function extracting(file: Readable, _total: number, onBytes: (n: number) => void): Promise<Readable> {
  let n = 0;
  const counter = new Transform({ transform(c: Buffer, _e, cb) { n += c.length; onBytes(n); cb(null, c); } });
  file.on('error', (err) => counter.destroy(err));
  return decompressStream(file.pipe(counter));
}

function retryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.status >= 500 || err.status === 429;
  if (err instanceof InvalidParameter || err instanceof NotFound) return false;
  return true;
}

function checkLayerType(l: Descriptor): void {
  const ok = [MediaType.dockerLayer, MediaType.dockerForeignLayer, MediaType.ociLayer, MediaType.ociLayerGzip, MediaType.ociLayerZstd,
    'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar'];
  if (l.mediaType && !ok.includes(l.mediaType as never)) throw new InvalidParameter(`unsupported layer media type ${l.mediaType}`);
}

function parseConfig(raw: Buffer): ImageConfig {
  let cfg: ImageConfig;
  try {
    cfg = JSON.parse(raw.toString('utf8')) as ImageConfig;
  } catch (err) {
    throw new InvalidParameter(`invalid image config: ${(err as Error).message}`);
  }
  if (!cfg?.rootfs || !Array.isArray(cfg.rootfs.diff_ids)) throw new InvalidParameter('invalid image config: no rootfs');
  return cfg;
}

export function schema1Error(ref: Reference): InvalidParameter {
  return new InvalidParameter(`[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support is disabled by default and will be removed in an upcoming release. Suggest the author of ${familiarString(ref)} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/`);
}

/** Registry errors as dockerd's TranslatePullError words them; the class sets the status. */
export function translate(err: unknown, ref: Reference): Error {
  if (!(err instanceof RegistryError)) {
    if (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED')) return new SystemError('context canceled');
    if (err instanceof Error && /^(InvalidParameter|NotFound|SystemError|Forbidden|Conflict|Unauthorized)$/.test(err.name)) return err;
    return new SystemError(describe(err), { cause: err });
  }
  const first = err.codes[0]?.code;
  if (first === 'DENIED') return new NotFound(`pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${err.message}`);
  if (first === 'MANIFEST_UNKNOWN') return new NotFound(`manifest for ${familiarString(ref)} not found: ${err.message}`);
  if (first === 'NAME_UNKNOWN') return new NotFound(`repository ${familiarName(ref)} not found: ${err.message}`);
  if (err.status === 404) return new NotFound(err.message);
  return new SystemError(err.message, { cause: err });
}
