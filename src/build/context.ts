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
import { Readable } from 'node:stream';
import { extractToPath, resolveInScope } from '../container/archive-path.js';
import { InvalidParameter, SystemError } from '../lib/errors.js';
import { buildFilesToRemove, readDockerignore } from './dockerignore.js';
import { detectCompression } from '../archive/compression.js';

export class BuildContext {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static async #make(tmpDir: string): Promise<BuildContext> {
    const root = join(tmpDir, `docker-builder${randomBytes(8).toString('hex')}`);
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new BuildContext(root);
  }

  /** The request body as the context: a tar, compressed or not. */
  static async fromTar(input: Readable, tmpDir: string): Promise<BuildContext> {
    const ctx = await BuildContext.#make(tmpDir);
    try {
      await extractToPath(ctx.root, '/', input, { copyUIDGID: true });
    } catch (err) {
      await ctx.close();
      throw err;
    }
    return ctx;
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
    const ignore = await readFile(join(this.root, '.dockerignore')).catch(() => undefined);
    if (ignore) {
      const patterns = readDockerignore(ignore);
      for (const f of buildFilesToRemove(patterns, file)) await rm(join(this.root, f), { force: true, recursive: true });
    }
    return { name: file, content };
  }

  async #read(name: string): Promise<Buffer> {
    const path = await resolveInScope(this.root, name);
    const st = await lstat(path).catch(() => undefined);
    // A plain error in dockerd too (a 500), not a not-found.
    if (!st || !st.isFile()) throw new SystemError(`Cannot locate specified Dockerfile: ${name}`);
    return readFile(path);
  }

  async close(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

function isTar(b: Buffer): boolean {
  return b.length >= 512 && b.subarray(257, 262).toString('latin1') === 'ustar';
}
