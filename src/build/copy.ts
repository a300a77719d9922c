/**
 * COPY and ADD, as dockerd 20.10's classic builder does them. A "source" is one file or
 * directory found under a source root (the build context, or the root filesystem of a stage
 * or image for `--from`), resolved with symlinks followed inside that root only, so a link in
 * the context cannot make the builder read a host file. Each source has a content hash
 * (`file:<sha256>` or `dir:<sha256>`) that goes into the step's `#(nop)` command, which is
 * what makes a changed file miss the cache. Files land in the destination root owned by 0:0
 * (or the --chown identity), with their modes and times.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { posix } from 'node:path';
import { resolveInScope, extractToPath } from '../container/archive-path.js';
import { detectCompression } from '../archive/compression.js';
import { InvalidParameter } from '../lib/errors.js';

export interface CopySource {
  /** The path as written, cleaned (for the destination's base name). */
  path: string;
  /** The host path, after in-scope resolution. */
  host: string;
  dir: boolean;
  hash: string;
  /** A download: never extracted, even by ADD. */
  noDecompress?: boolean;
}

const WILDCARD = /[*?[]/;

/** Go's filepath.Match for one `/`-separated path. */
export function goMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new InvalidParameter('syntax error in pattern');
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = `!${cls.slice(1)}`;
      re += `[${cls.startsWith('!') ? `^${cls.slice(1)}` : cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$').test(name);
}

// The hashes: a file's is the sha256 of its permission bits and content (a link's target
// instead of content); a directory's is the sha256 of one line per entry below it, in sorted
// order, directories with their bits and files with their hash. The same function of the same
// tree whether it is read from disk or from a context held in memory (MemDir below).
const fileHashPrefix = (mode: number) => `${mode & 0o7777}\0`;
const dirLine = (rel: string, mode: number) => `d\0${rel}\0${mode & 0o7777}\n`;
const fileLine = (rel: string, hash: string) => `f\0${rel}\0${hash}\n`;

/** Files up to this size are read in one call rather than streamed. */
const READ_WHOLE = 1 << 20;

async function hashFile(host: string, st: Stats): Promise<string> {
  const h = createHash('sha256');
  h.update(fileHashPrefix(st.mode));
  if (st.isSymbolicLink()) h.update(`link\0${await fsp.readlink(host)}`);
  else if (st.isFile() && st.size <= READ_WHOLE) h.update(await fsp.readFile(host));
  else {
    for await (const chunk of createReadStream(host)) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

async function hashDir(host: string, excluded: (rel: string) => boolean, base: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await fsp.readdir(dir)).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (excluded(posix.join(base, r))) continue;
      const p = posix.join(dir, n);
      const st = await fsp.lstat(p);
      if (st.isDirectory()) {
        h.update(dirLine(r, st.mode));
        await walk(p, r);
      } else {
        h.update(fileLine(r, await hashFile(p, st)));
      }
    }
  };
  await walk(host, '');
  return h.digest('hex');
}

/**
 * A build context held in memory, as its tar gave it: directories and regular files only (a
 * context with links or anything else is extracted to disk instead), with their permission
 * bits. Enough to resolve and hash COPY sources with no file written.
 */
export interface MemDir { mode: number; entries: Map<string, MemEntry> }
export interface MemFile { mode: number; data: Buffer }
export type MemEntry = MemDir | MemFile;
export const isMemDir = (e: MemEntry): e is MemDir => 'entries' in e;

/** The entry at `/`-separated `rel` (no `..` in it): undefined when a part is missing or not a directory. */
export function memLookup(root: MemDir, rel: string): MemEntry | undefined {
  let cur: MemEntry = root;
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (!isMemDir(cur)) return undefined;
    const next = cur.entries.get(part);
    if (!next) return undefined;
    cur = next;
  }
  return cur;
}

/** Hashes files held in memory, letting the event loop run after every few MiB. */
class MemHasher {
  #since = 0;

  async file(f: MemFile): Promise<string> {
    this.#since += f.data.length;
    if (this.#since >= 4 << 20) {
      this.#since = 0;
      await new Promise<void>((r) => setImmediate(r));
    }
    return createHash('sha256').update(fileHashPrefix(f.mode)).update(f.data).digest('hex');
  }

  async dir(dir: MemDir, excluded: (rel: string) => boolean, base: string): Promise<string> {
    const h = createHash('sha256');
    const walk = async (d: MemDir, rel: string): Promise<void> => {
      for (const n of [...d.entries.keys()].sort()) {
        const r = rel ? `${rel}/${n}` : n;
        if (excluded(posix.join(base, r))) continue;
        const e = d.entries.get(n)!;
        if (isMemDir(e)) {
          h.update(dirLine(r, e.mode));
          await walk(e, r);
        } else {
          h.update(fileLine(r, await this.file(e)));
        }
      }
    };
    await walk(dir, '');
    return h.digest('hex');
  }
}

/** The parts of a source as written that every resolution shares, with the escape check. */
function sourcePaths(orig: string): { clean: string; rel: string } {
  const clean = posix.normalize(`/${orig}`).replace(/^\/+/, '');
  const rel = posix.relative('/', posix.join('/', orig));
  if (posix.normalize(orig).startsWith('../') || posix.normalize(orig) === '..') {
    throw new InvalidParameter(`forbidden path outside the build context: ${orig} ()`);
  }
  return { clean, rel };
}

/**
 * resolveSources over a context held in memory: the same sources, paths and hashes as over
 * the same context extracted under `hostRoot` (where `host` points; the caller extracts it
 * there before copying).
 */
export async function resolveMemSources(tree: MemDir, hostRoot: string, sources: string[], excluded: (rel: string) => boolean): Promise<CopySource[]> {
  const out: CopySource[] = [];
  const hasher = new MemHasher();
  const source = async (rel: string, e: MemEntry): Promise<CopySource> => ({
    path: rel, host: posix.join(hostRoot, rel), dir: isMemDir(e),
    hash: isMemDir(e) ? `dir:${await hasher.dir(e, excluded, rel)}` : `file:${await hasher.file(e)}`,
  });
  for (const orig of sources) {
    const { clean, rel } = sourcePaths(orig);
    if (WILDCARD.test(clean)) {
      const matches: Array<[string, MemEntry]> = [];
      const walk = (d: MemDir, prefix: string): void => {
        for (const n of [...d.entries.keys()].sort()) {
          const r = prefix ? `${prefix}/${n}` : n;
          if (excluded(r)) continue;
          const e = d.entries.get(n)!;
          if (goMatch(clean, r)) { matches.push([r, e]); continue; }
          if (isMemDir(e)) walk(e, r);
        }
      };
      walk(tree, '');
      for (const [m, e] of matches) out.push(await source(m, e));
      continue;
    }
    if (rel !== '' && excluded(rel)) throw notFound(orig);
    const e = memLookup(tree, rel);
    if (!e) throw notFound(orig);
    out.push(await source(rel, e));
  }
  return out;
}

/**
 * The sources of one COPY/ADD under `root`. `excluded` hides context paths (.dockerignore);
 * errors read as dockerd's.
 */
export async function resolveSources(root: string, sources: string[], excluded: (rel: string) => boolean): Promise<CopySource[]> {
  const out: CopySource[] = [];
  for (const orig of sources) {
    const { clean, rel } = sourcePaths(orig);
    if (WILDCARD.test(clean)) {
      const matches: string[] = [];
      const walk = async (dir: string, prefix: string): Promise<void> => {
        for (const n of (await fsp.readdir(dir)).sort()) {
          const r = prefix ? `${prefix}/${n}` : n;
          if (excluded(r)) continue;
          if (goMatch(clean, r)) { matches.push(r); continue; }
          const st = await fsp.lstat(posix.join(dir, n));
          if (st.isDirectory()) await walk(posix.join(dir, n), r);
        }
      };
      await walk(root, '');
      for (const m of matches) out.push(await source(root, m, excluded));
      continue;
    }
    if (rel !== '' && excluded(rel)) throw notFound(orig);
    out.push(await source(root, rel, excluded).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw notFound(orig);
      throw err;
    }));
  }
  return out;
}

const notFound = (p: string) =>
  new InvalidParameter(`file not found in build context or excluded by .dockerignore: stat ${p}: file does not exist`);

async function source(root: string, rel: string, excluded: (rel: string) => boolean): Promise<CopySource> {
  const host = await resolveInScope(root, rel);
  const st = await fsp.stat(host);
  if (st.isDirectory()) return { path: rel, host, dir: true, hash: `dir:${await hashDir(host, excluded, rel)}` };
  return { path: rel, host, dir: false, hash: `file:${await hashFile(host, st)}` };
}

/** dockerd's hash of several sources: `multi:` and the sha256 of their hashes joined by commas. */
export function sourcesHash(sources: CopySource[]): string {
  if (sources.length === 1) return sources[0]!.hash;
  return `multi:${createHash('sha256').update(sources.map((s) => s.hash).join(',')).digest('hex')}`;
}

export interface Identity { uid: number; gid: number }

/** `--chown=user[:group]`, names looked up in the destination's /etc/passwd and /etc/group. */
export async function parseChown(root: string, chown: string): Promise<Identity> {
  const [user = '', group] = chown.split(':');
  const lookup = async (file: string, name: string, what: string): Promise<{ id: number; gid?: number }> => {
    if (/^\d+$/.test(name)) return { id: Number(name) };
    const text = await fsp.readFile(await resolveInScope(root, file), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 3) return { id: Number(f[2]), ...(f[3] !== undefined ? { gid: Number(f[3]) } : {}) };
    }
    throw new InvalidParameter(`unable to convert uid/gid chown string to host mapping: can't find ${what} for ${what === 'uid' ? 'user' : 'group'} ${name}: no such ${what === 'uid' ? 'user' : 'group'}: ${name}`);
  };
  const u = await lookup('/etc/passwd', user, 'uid');
  if (group === undefined) return { uid: u.id, gid: /^\d+$/.test(user) ? u.id : (u.gid ?? u.id) };
  const g = await lookup('/etc/group', group, 'gid');
  return { uid: u.id, gid: g.id };
}

/** Creates the missing directories of container path `dir` (0755, owned by `id`). */
async function mkdirAll(root: string, dir: string, id: Identity): Promise<string> {
  let cur = '/';
  for (const part of dir.split('/').filter(Boolean)) {
    cur = posix.join(cur, part);
    const host = await resolveInScope(root, cur);
    const st = await fsp.lstat(host).catch(() => undefined);
    if (!st) {
      await fsp.mkdir(host, { mode: 0o755 });
      await fsp.chmod(host, 0o755);
      await fsp.lchown(host, id.uid, id.gid);
    } else if (!st.isDirectory()) {
      throw new InvalidParameter(`failed to copy files: mkdir ${cur}: not a directory`);
    }
  }
  return resolveInScope(root, dir);
}

/** Copies one entry (recursively for a directory) to container path `dest`. */
async function copyEntry(srcHost: string, root: string, dest: string, id: Identity, overrideDirOwner: boolean, rel: string, excluded: (rel: string) => boolean): Promise<void> {
  if (excluded(rel)) return;
  const st = await fsp.lstat(srcHost);
  const [pdir, base] = [posix.dirname(dest), posix.basename(dest)];
  const parent = await resolveInScope(root, pdir);
  const target = posix.join(parent, base);
  const existing = await fsp.lstat(target).catch(() => undefined);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) await fsp.rm(target, { force: true });
    if (!existing || !existing.isDirectory()) {
      await fsp.mkdir(target, { mode: st.mode & 0o7777 });
      overrideDirOwner = true;
    }
    if (overrideDirOwner) {
      await fsp.chmod(target, st.mode & 0o7777);
      await fsp.lchown(target, id.uid, id.gid);
    }
    for (const n of await fsp.readdir(srcHost)) await copyEntry(posix.join(srcHost, n), root, posix.join(dest, n), id, true, posix.join(rel, n), excluded);
    await fsp.utimes(target, st.atime, st.mtime);
    return;
  }
  if (existing) await fsp.rm(target, { recursive: true, force: true });
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(srcHost), target);
    await fsp.lchown(target, id.uid, id.gid);
    await fsp.lutimes(target, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return; // devices, fifos, sockets: not copied
  await fsp.copyFile(srcHost, target);
  await fsp.chmod(target, st.mode & 0o7777);
  await fsp.lchown(target, id.uid, id.gid);
  await fsp.utimes(target, st.atime, st.mtime);
}

async function isArchive(host: string): Promise<boolean> {
  const fh = await fsp.open(host, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const head = buf.subarray(0, bytesRead);
    if (detectCompression(head) !== 'none' && detectCompression(head) !== 'zstd') return true;
    return bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

/**
 * Copies the sources to `dest` (a container path, already made absolute against WORKDIR;
 * `destRaw` keeps a trailing slash) in `root`. `decompress` is ADD's: a local tar archive is
 * extracted into the destination directory.
 */
export async function copySources(root: string, sources: CopySource[], destRaw: string, dest: string, id: Identity, opts: { decompress: boolean; cmd: string; excluded: (rel: string) => boolean }): Promise<void> {
  const endsInSlash = destRaw.endsWith('/') || destRaw.endsWith('/.') || destRaw === '.';
  if (sources.length > 1 && !endsInSlash) {
    throw new InvalidParameter(`When using ${opts.cmd} with more than one source file, the destination must be a directory and end with a /`);
  }
  for (const s of sources) {
    if (s.dir) {
      await mkdirAll(root, dest, id);
      for (const n of await fsp.readdir(s.host)) {
        await copyEntry(posix.join(s.host, n), root, posix.join(dest, n), id, true, posix.join(s.path, n), opts.excluded);
      }
      continue;
    }
    if (opts.decompress && !s.noDecompress && await isArchive(s.host)) {
      await mkdirAll(root, dest, id);
      await extractToPath(root, dest, createReadStream(s.host), { copyUIDGID: true });
      continue;
    }
    const destHost = await resolveInScope(root, dest);
    const st = await fsp.stat(destHost).catch(() => undefined);
    let file = dest;
    if (endsInSlash || st?.isDirectory()) file = posix.join(dest, posix.basename(s.path));
    await mkdirAll(root, posix.dirname(file), id);
    await copyEntry(s.host, root, file, id, true, s.path, () => false);
  }
}

/**
 * ADD's URL source: downloaded into `dir` (a private temp dir), named after the URL's last
 * path element (or Content-Disposition), mode 0600, mtime from Last-Modified (else the epoch).
 */
export async function downloadSource(url: string, dir: string, dest: string, signal?: AbortSignal): Promise<CopySource> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (err) {
    throw new InvalidParameter(`failed to GET ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).trim();
    throw new InvalidParameter(`failed to GET ${url} with status ${res.status} ${res.statusText}: ${body}`);
  }
  let name = '';
  const path = new URL(url).pathname;
  if (path !== '' && !path.endsWith('/')) name = posix.basename(path);
  if (!name) {
    const m = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '');
    if (m && !m[1]!.endsWith('/')) name = posix.basename(m[1]!);
  }
  if (!name) {
    if (dest.endsWith('/')) throw new InvalidParameter(`cannot determine filename for source ${url}`);
    name = '__unnamed__';
  }
  const host = posix.join(dir, name);
  if (!res.body) throw new InvalidParameter(`failed to GET ${url}: no body`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(host, { mode: 0o600, flags: 'wx' }));
  const lastMod = res.headers.get('last-modified');
  const when = lastMod && !Number.isNaN(Date.parse(lastMod)) ? new Date(lastMod) : new Date(0);
  await fsp.utimes(host, when, when);
  const st = await fsp.stat(host);
  return { path: name, host, dir: false, hash: `file:${await hashFile(host, st)}`, noDecompress: true };
}
