import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter } from '../../lib/errors.js';
import { readTar } from '../../archive/reader.js';
import { decompressStream } from '../../archive/compression.js';
import type { ImageConfig } from '../../types/image.js';
import type { Layer, Pending } from '../layer/store.js';
import { chainIds } from '../layer/chain.js';
import type { ImageService } from '../service.js';
import { familiarString, parseNormalizedNamed, tagNameOnly } from '../reference/reference.js';

/** A progress or result line of `docker load`, in jsonmessage form. */
export interface LoadMessage {
  status?: string;
  id?: string;
  progressDetail?: { current: number; total: number };
  stream?: string;
}

/**
 * Files of the archive: small ones kept in memory, large ones spooled to the tmp dir, and,
 * where the driver allows it, large tars applied at once as layers whose parent is set when
 * the manifest is read (one pass over the bytes instead of three).
 */
interface Spool {
  small: Map<string, Buffer>;
  large: Map<string, string>;
  links: Map<string, string>;
  prepared: Map<string, Pending | Error>;
}

const SMALL = 1 << 20;

/**
 * `docker load`: reads a docker-archive (manifest.json) or OCI image layout (index.json) tar,
 * registers the layers in order, stores the configs and sets the tags. Nothing is written to
 * the stores before the whole archive has been read; an image's config is stored only after
 * all its layers, so a crash never leaves a half image (orphan layers are pruned at start).
 */
export async function loadImages(
  svc: ImageService, input: Readable, tmpRoot: string, signal?: AbortSignal,
): Promise<LoadMessage[]> {
  const dir = join(tmpRoot, `docker-import-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const spool = await spoolArchive(svc, input, dir, signal);
    try {
      if (spool.small.has('manifest.json')) return await loadDockerArchive(svc, spool);
      if (spool.small.has('index.json')) return await loadOciLayout(svc, spool);
      throw new InvalidParameter('invalid archive: it has neither manifest.json nor index.json');
    } finally {
      for (const p of spool.prepared.values()) if (!(p instanceof Error)) await svc.stores.layers.discard(p);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function spoolArchive(svc: ImageService, input: Readable, dir: string, signal?: AbortSignal): Promise<Spool> {
  const spool: Spool = { small: new Map(), large: new Map(), links: new Map(), prepared: new Map() };
  const layers = svc.stores.layers;
  const tar = readTar(await decompressStream(input));
  let n = 0;
  for await (const entry of tar) {
    if (signal?.aborted) throw new InvalidParameter('load cancelled');
    const name = posix.normalize(entry.header.name).replace(/^(\.\/|\/)+/, '').replace(/\/$/, '');
    if (entry.header.type === 'symlink') {
      spool.links.set(name, posix.normalize(posix.join(posix.dirname(name), entry.header.linkname)));
    } else if (entry.header.type === 'link') {
      spool.links.set(name, posix.normalize(entry.header.linkname));
    } else if (entry.header.type === 'file') {
      if (entry.header.size <= SMALL) {
        const chunks: Buffer[] = [];
        for await (const c of entry.body) chunks.push(c as Buffer);
        spool.small.set(name, Buffer.concat(chunks));
      } else if (layers.canPrepareDetached && (await looksLikeTar(entry.body))) {
        try {
          spool.prepared.set(name, await layers.prepareDetached(await decompressStream(entry.body)));
        } catch (err) {
          // Refused only if the manifest really uses it as a layer.
          if (!(err instanceof InvalidParameter)) throw err;
          spool.prepared.set(name, err);
          entry.body.resume();
        }
      } else {
        const path = join(dir, String(n++));
        await pipeline(entry.body, createWriteStream(path, { mode: 0o600 }));
        spool.large.set(name, path);
      }
    }
  }
  return spool;
}

/** Peeks at a body: gzip, or a ustar/GNU header. The bytes read are put back. */
async function looksLikeTar(body: Readable): Promise<boolean> {
  const head = await peek(body, 512);
  return head.length > 0 && ((head[0] === 0x1f && head[1] === 0x8b) || head.subarray(257, 262).toString('latin1') === 'ustar');
}

async function peek(body: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const c = body.read() as Buffer | null;
    if (c !== null) {
      chunks.push(c);
      len += c.length;
      continue;
    }
    if (body.readableEnded || body.destroyed) break;
    await new Promise<void>((resolve) => {
      const done = () => { body.off('readable', done); body.off('end', done); body.off('close', done); resolve(); };
      body.once('readable', done);
      body.once('end', done);
      body.once('close', done);
    });
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) body.unshift(head);
  return head;
}

function resolveName(spool: Spool, name: string): string {
  let n = posix.normalize(name).replace(/^(\.\/|\/)+/, '');
  for (let hops = 0; spool.links.has(n) && hops < 16; hops++) n = spool.links.get(n)!;
  return n;
}

function readSmall(spool: Spool, name: string): Buffer {
  const n = resolveName(spool, name);
  const b = spool.small.get(n);
  if (!b) throw new InvalidParameter(`invalid archive: ${name} is missing or too large`);
  return b;
}

function openFile(spool: Spool, name: string): Readable {
  const n = resolveName(spool, name);
  const small = spool.small.get(n);
  if (small) return Readable.from([small]);
  const path = spool.large.get(n);
  if (!path) throw new InvalidParameter(`invalid archive: layer ${name} is missing`);
  return createReadStream(path);
}

function parseJson<T>(b: Buffer, what: string): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (err) {
    throw new InvalidParameter(`invalid archive: ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

interface Candidate {
  config: Buffer;
  /** Each layer: already applied (prepared), or a stream to apply. */
  layers: Array<() => Pending | Error | Readable>;
  tags: string[];
}

function layerSource(spool: Spool, name: string): () => Pending | Error | Readable {
  return () => {
    const n = resolveName(spool, name);
    const p = spool.prepared.get(n);
    if (p) {
      spool.prepared.delete(n);
      return p;
    }
    return openFile(spool, name);
  };
}

async function loadDockerArchive(svc: ImageService, spool: Spool): Promise<LoadMessage[]> {
  const manifest = parseJson<Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] }>>(
    readSmall(spool, 'manifest.json'), 'manifest.json');
  if (!Array.isArray(manifest)) throw new InvalidParameter('invalid archive: manifest.json is not a list');
  const candidates = manifest.map((m): Candidate => ({
    config: readSmall(spool, m.Config),
    layers: (m.Layers ?? []).map((l) => layerSource(spool, l)),
    tags: m.RepoTags ?? [],
  }));
  return registerAll(svc, candidates);
}

interface Descriptor { mediaType?: string; digest: string; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string } }

async function loadOciLayout(svc: ImageService, spool: Spool): Promise<LoadMessage[]> {
  const blob = (d: Descriptor) => {
    const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(d.digest ?? '');
    if (!m) throw new InvalidParameter(`invalid archive: bad digest ${d.digest}`);
    return `blobs/${m[1]}/${m[2]}`;
  };
  const index = parseJson<{ manifests?: Descriptor[] }>(readSmall(spool, 'index.json'), 'index.json');
  const candidates: Candidate[] = [];
  const visit = (desc: Descriptor, name: string | undefined): void => {
    const doc = parseJson<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(
      readSmall(spool, blob(desc)), desc.digest);
    if (doc.manifests) {
      const pick = doc.manifests.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === 'amd64'));
      if (!pick) throw new InvalidParameter('invalid archive: no manifest for linux/amd64');
      visit(pick, name);
      return;
    }
    if (!doc.config) throw new InvalidParameter(`invalid archive: ${desc.digest} is not an image manifest`);
    candidates.push({
      config: readSmall(spool, blob(doc.config)),
      layers: (doc.layers ?? []).map((l) => layerSource(spool, blob(l))),
      tags: name ? [name] : [],
    });
  };
  for (const m of index.manifests ?? []) {
    const a = m.annotations ?? {};
    const refName = a['io.containerd.image.name'] ?? (/[:/]/.test(a['org.opencontainers.image.ref.name'] ?? '') ? a['org.opencontainers.image.ref.name'] : undefined);
    visit(m, refName);
  }
  return registerAll(svc, candidates);
}

async function registerAll(svc: ImageService, candidates: Candidate[]): Promise<LoadMessage[]> {
  const { images, layers, references } = svc.stores;
  const messages: LoadMessage[] = [];
  const held: string[] = [];
  try {
    for (const c of candidates) {
      const config = parseJson<ImageConfig>(c.config, 'image config');
      const diffIds = config?.rootfs?.diff_ids;
      if (!Array.isArray(diffIds)) throw new InvalidParameter('invalid archive: image config has no rootfs');
      if (diffIds.length !== c.layers.length) {
        throw new InvalidParameter(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${c.layers.length}`);
      }
      const chain = chainIds(diffIds);
      for (let i = 0; i < chain.length; i++) {
        const id = chain[i]!;
        let layer: Layer | undefined = layers.get(id);
        if (layer) {
          layers.acquire(id);
        } else {
          const src = c.layers[i]!();
          if (src instanceof Error) throw src;
          const parent = i > 0 ? chain[i - 1] : undefined;
          if (src instanceof Readable) {
            layer = await layers.register(await decompressStream(src), parent);
          } else {
            if (src.diffId !== diffIds[i]) {
              await layers.discard(src);
              throw new InvalidParameter(`invalid diffID for layer ${i}: expected "${diffIds[i]}", got "${src.diffId}"`);
            }
            layer = await layers.commit(src, parent);
          }
          if (layer.diffId !== diffIds[i]) {
            await layers.release(layer.chainId);
            throw new InvalidParameter(`invalid diffID for layer ${i}: expected "${diffIds[i]}", got "${layer.diffId}"`);
          }
        }
        held.push(id);
        messages.push({ status: 'Loading layer', id: id.slice(7, 19), progressDetail: { current: layer.size, total: layer.size } });
      }
      const img = await images.create(c.config);
      const loaded: string[] = [];
      for (const t of c.tags) {
        const ref = tagNameOnly(parseNormalizedNamed(t));
        const old = references.get(ref);
        if (old && old !== img.id) {
          messages.push({ stream: `The image ${familiarString(ref)} already exists, renaming the old one with ID ${old} to empty string\n` });
        }
        await references.add(ref, img.id, true);
        loaded.push(familiarString(ref));
      }
      svc.loaded(img.id, loaded);
      if (loaded.length === 0) messages.push({ stream: `Loaded image ID: ${img.id}\n` });
      for (const t of loaded) messages.push({ stream: `Loaded image: ${t}\n` });
    }
  } finally {
    // The images now hold their layers; drop the references taken while registering.
    for (const id of held.reverse()) await layers.release(id);
  }
  return messages;
}
