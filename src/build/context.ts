/**
 * The build context: the files a build may COPY or ADD, extracted from the request's tar
 * (plain, gzip, bzip2 or xz) into a private directory under the daemon's tmp dir, or fetched
 * from a `remote` URL (a tarball, or a lone Dockerfile). Paths inside the context are
 * `/`-separated and relative to its root. The client applied `.dockerignore` when it made the
 * context; the daemon only takes the Dockerfile and .dockerignore out when they match, as dockerd.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, lstat } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join, posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { extractToPath, resolveInScope } from '../container/archive-path.js';
import { InvalidParameter, SystemError } from '../lib/errors.js';
import { buildFilesToRemove, readDockerignore } from './dockerignore.js';
import { isMemDir, memLookup, resolveMemSources, resolveSources, type CopySource, type MemDir } from './copy.js';
import { readTar } from '../archive/reader.js';
import { decompressStream } from '../archive/compression.js';
import { detectCompression } from '../archive/compression.js';

/** Contexts up to this size (as sent, and once decompressed) are held in memory. */
const MEMORY_LIMIT = 16 << 20;

export class BuildContext {
  /** Where the context is (or goes, for one held in memory, once something needs its files). */
  readonly root: string;
  /** The context as it came, and its tree, while it is held in memory. */
  #raw: Buffer[] | undefined;
  #tree: MemDir | undefined;
  /** Paths taken out of the tree (.dockerignore'd build files), to take out on disk too. */
  readonly #removed: string[] = [];
  #onDisk: Promise<void> | undefined;

  private constructor(root: string) {
    this.root = root;
  }

  static #at(tmpDir: string): BuildContext {
    return new BuildContext(join(tmpDir, `docker-builder${randomBytes(8).toString('hex')}`));
  }

  static async #make(tmpDir: string): Promise<BuildContext> {
    const ctx = BuildContext.#at(tmpDir);
    await mkdir(ctx.root, { recursive: true, mode: 0o700 });
    ctx.#onDisk = Promise.resolve();
    return ctx;
  }

  /**
   * The request body as the context: a tar, compressed or not. A small one made only of
   * directories and regular files (what the CLI sends for most projects) is held in memory, so
   * that a build whose COPY steps all hit the cache writes none of it; anything else is
   * extracted under the tmp dir as it arrives. Both give the same sources and hashes.
   */
  static async fromTar(input: Readable, tmpDir: string, opts: { memoryLimit?: number } = {}): Promise<BuildContext> {
    const limit = opts.memoryLimit ?? MEMORY_LIMIT;
    const ctx = BuildContext.#at(tmpDir);
    const raw: Buffer[] = [];
    let size = 0;
    const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let ended = false;
    // The tree is made as the body arrives, so that little is left to do once it has.
    const feed = new PassThrough();
    feed.on('error', () => {});
    let parsing = true;
    const tree = memTree(feed, limit).catch(() => undefined).finally(() => { parsing = false; });
    try {
      while (size <= limit) {
        const r = await it.next();
        if (r.done) { ended = true; break; }
        const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
        raw.push(chunk);
        size += chunk.length;
        if (parsing) feed.write(chunk);
      }
    } finally {
      if (ended) feed.end();
      else feed.destroy();
    }
    if (ended) {
      ctx.#tree = await tree;
      if (ctx.#tree) {
        ctx.#raw = raw;
        return ctx;
      }
    }
    async function* all(): AsyncGenerator<Buffer> {
      try {
        yield* raw;
        if (ended) return;
        for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      } finally {
        // An extraction that stopped early lets go of the request body.
        if (!ended) await it.return?.();
      }
    }
    ctx.#onDisk = Promise.resolve();
    try {
      await mkdir(ctx.root, { recursive: true, mode: 0o700 });
      await extractToPath(ctx.root, '/', Readable.from(all(), { objectMode: false }), { copyUIDGID: true });
    } catch (err) {
      await ctx.close();
      throw err;
    }
    return ctx;
  }

  /** Whether the context is held in memory (nothing of it written yet). */
  get inMemory(): boolean {
    return this.#tree !== undefined && this.#onDisk === undefined;
  }

  /**
   * Extracts a context held in memory to `root`, as a context too large for memory would have
   * been, with the same build files taken out. Its sources' `host` paths are then valid.
   */
  materialize(): Promise<void> {
    this.#onDisk ??= (async () => {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await extractToPath(this.root, '/', Readable.from(this.#raw ?? [], { objectMode: false }), { copyUIDGID: true });
      for (const f of this.#removed) await rm(join(this.root, f), { force: true, recursive: true });
      this.#raw = undefined;
    })();
    return this.#onDisk;
  }

  /** The sources of a COPY or ADD from the context, with their hashes (resolveSources). */
  async sources(list: string[]): Promise<CopySource[]> {
    const none = () => false;
    if (this.#tree && this.inMemory) return resolveMemSources(this.#tree, this.root, list, none);
    return resolveSources(this.root, list, none);
  }

  /**
   * A `remote` URL as the context: a tar archive (compressed or not) is the context; anything
   * else is taken as the Dockerfile itself, as dockerd does with a plain-text download.
   */
  static async fromRemote(url: string, tmpDir: string, dockerfileName: string, signal?: AbortSignal): Promise<BuildContext> {
    if (!/^https?:\/\//i.test(url)) {
      throw new InvalidParameter(`unable to prepare context: unsupported remote context "${url}": only http(s) URLs are supported`);
    }
    let res: Response;
    try {
      res = await fetch(url, signal ? { signal } : {});
    } catch (err) {
      throw new InvalidParameter(`unable to prepare context: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) {
      throw new InvalidParameter(`unable to prepare context: error downloading remote context ${url}: ${res.statusText}`);
    }
    const ctx = await BuildContext.#make(tmpDir);
    // Downloaded to a file beside the context (streamed), then looked at.
    const file = `${ctx.root}.download`;
    try {
      if (!res.body) throw new InvalidParameter(`unable to prepare context: error downloading remote context ${url}: no body`);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file, { mode: 0o600 }));
      const head = Buffer.alloc(512);
      const fh = await open(file, 'r');
      const { bytesRead } = await fh.read(head, 0, 512, 0).finally(() => fh.close());
      const type = res.headers.get('content-type') ?? '';
      if (detectCompression(head.subarray(0, Math.min(6, bytesRead))) !== 'none' || isTar(head.subarray(0, bytesRead)) || /x-tar|gzip|x-bzip2|x-xz/.test(type)) {
        await extractToPath(ctx.root, '/', createReadStream(file), { copyUIDGID: true });
      } else {
        await rename(file, join(ctx.root, posix.basename(dockerfileName || 'Dockerfile')));
      }
    } catch (err) {
      await ctx.close();
      throw err;
    } finally {
      await rm(file, { force: true });
    }
    return ctx;
  }

  /**
   * Reads the Dockerfile (falling back to `dockerfile` when the default name is missing, as
   * dockerd) and applies .dockerignore: the build files it matches are removed from the context.
   */
  async dockerfile(name: string): Promise<{ name: string; content: Buffer }> {
    let file = name || 'Dockerfile';
    const content = await this.#read(file).catch(async (err: unknown) => {
      if (name && name !== 'Dockerfile') throw err;
      file = 'dockerfile';
      return this.#read(file).catch(() => { throw err; });
    });
    const ignore = await this.#readIgnore();
    if (ignore) {
      const patterns = readDockerignore(ignore);
      for (const f of buildFilesToRemove(patterns, file)) await this.#remove(f);
    }
    return { name: file, content };
  }

  async #readIgnore(): Promise<Buffer | undefined> {
    if (this.#tree && this.inMemory) {
      const e = this.#tree.entries.get('.dockerignore');
      return e && !isMemDir(e) ? e.data : undefined;
    }
    return readFile(join(this.root, '.dockerignore')).catch(() => undefined);
  }

  async #remove(f: string): Promise<void> {
    const rel = posix.normalize(f);
    if (this.#tree && this.inMemory && rel !== '..' && !rel.startsWith('../') && !rel.startsWith('/')) {
      const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
      const parent = memLookup(this.#tree, parts.slice(0, -1).join('/'));
      if (parts.length && parent && isMemDir(parent)) parent.entries.delete(parts[parts.length - 1]!);
      this.#removed.push(f);
      return;
    }
    if (this.#tree && this.inMemory) await this.materialize();
    await rm(join(this.root, f), { force: true, recursive: true });
  }

  async #read(name: string): Promise<Buffer> {
    if (this.#tree && this.inMemory) {
      // As resolveInScope with no links: `..` stops at the root.
      const parts: string[] = [];
      for (const p of name.split('/')) {
        if (p === '..') parts.pop();
        else if (p !== '' && p !== '.') parts.push(p);
      }
      const e = memLookup(this.#tree, parts.join('/'));
      if (!e || isMemDir(e) || parts.length === 0) throw new SystemError(`Cannot locate specified Dockerfile: ${name}`);
      return e.data;
    }
    const path = await resolveInScope(this.root, name);
    const st = await lstat(path).catch(() => undefined);
    // A plain error in dockerd too (a 500), not a not-found.
    if (!st || !st.isFile()) throw new SystemError(`Cannot locate specified Dockerfile: ${name}`);
    return readFile(path);
  }

  async close(): Promise<void> {
    this.#raw = undefined;
    this.#tree = undefined;
    // A context never written has nothing on disk to remove.
    if (!this.#onDisk) return;
    await this.#onDisk.catch(() => {});
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * The tree of a context held in memory, from its tar (compressed or not); undefined when the
 * tar holds anything the tree does not model the way extraction to disk would give it (links,
 * devices, an entry named twice, a file in a directory the tar did not name first, a name
 * leaving the context) or more than `limit` bytes of content: such a context goes to disk.
 */
async function memTree(input: Readable, limit: number): Promise<MemDir | undefined> {
  const root: MemDir = { mode: 0o700, entries: new Map() };
  let size = 0;
  for await (const entry of readTar(await decompressStream(input))) {
    const h = entry.header;
    const rel = posix.normalize(h.name).replace(/\/$/, '');
    if (rel === '.' && h.type === 'dir') continue;
    if (rel === '.' || rel === '..' || rel.startsWith('../') || rel.startsWith('/')) return undefined;
    const parts = rel.split('/');
    const base = parts.pop()!;
    const parent = memLookup(root, parts.join('/'));
    if (!parent || !isMemDir(parent) || parent.entries.has(base)) return undefined;
    const mode = h.mode & 0o7777;
    if (h.type === 'dir') parent.entries.set(base, { mode, entries: new Map() });
    else if (h.type === 'file') {
      const chunks: Buffer[] = [];
      for await (const c of entry.body) {
        size += (c as Buffer).length;
        if (size > limit) return undefined;
        chunks.push(c as Buffer);
      }
      parent.entries.set(base, { mode, data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
    } else return undefined;
  }
  return root;
}

function isTar(b: Buffer): boolean {
  return b.length >= 512 && b.subarray(257, 262).toString('latin1') === 'ustar';
}
