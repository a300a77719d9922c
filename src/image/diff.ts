import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Stats } from 'node:fs';
import { native } from '../lib/native.js';
import { tarStream, type TarWriter } from '../archive/writer.js';
import type { TarType } from '../archive/header.js';
import type { GraphDriver } from './drivers/driver.js';

/**
 * Producing diffs, the reverse of apply: what a layer changed relative to its parent, as the
 * list `docker diff` prints and as a tar with AUFS whiteouts (`.wh.NAME`, `.wh..wh..opq`) for
 * commit; and a whole filesystem as a tar for `docker export`.
 */
export const enum Kind { Modified = 0, Added = 1, Deleted = 2 }

export interface Change {
  Path: string;
  Kind: Kind;
}

/** One path of a diff: what to put in the tar for it. */
interface DiffItem {
  rel: string;
  kind: Kind;
  /** For a directory marked opaque: its old content is hidden. */
  opaque?: boolean;
}

/**
 * The changes of layer `id` over `parent` (the parent's full view, read to tell "added"
 * from "modified"). overlay2 reads its diff dir; vfs compares the two copies.
 */
export async function diffItems(driver: GraphDriver, id: string, parent: string | undefined): Promise<DiffItem[]> {
  const lower = parent ? await driver.get(parent) : undefined;
  try {
    if (driver.whiteouts === 'overlay') return await overlayItems(driver.diffPath(id), lower);
    return await compareItems(driver.diffPath(id), lower);
  } finally {
    if (parent) await driver.put(parent);
  }
}

export async function changes(driver: GraphDriver, id: string, parent: string | undefined): Promise<Change[]> {
  return (await diffItems(driver, id, parent)).map((i) => ({ Path: `/${i.rel}`, Kind: i.kind }));
}

async function exists(path: string): Promise<Stats | undefined> {
  return lstat(path).catch(() => undefined);
}

async function overlayItems(upper: string, lower: string | undefined): Promise<DiffItem[]> {
  const out: DiffItem[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(upper, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(upper, r));
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ rel: r, kind: Kind.Deleted });
        continue;
      }
      const before = lower ? await exists(join(lower, r)) : undefined;
      const opaque = st.isDirectory() && native.lgetxattr(join(upper, r), 'trusted.overlay.opaque')?.toString() === 'y';
      out.push({ rel: r, kind: before ? Kind.Modified : Kind.Added, ...(opaque ? { opaque } : {}) });
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

async function compareItems(cur: string, old: string | undefined): Promise<DiffItem[]> {
  const out: DiffItem[] = [];
  const walk = async (rel: string): Promise<void> => {
    const now = new Set(await readdir(join(cur, rel)).catch(() => [] as string[]));
    const was = old ? new Set(await readdir(join(old, rel)).catch(() => [] as string[])) : new Set<string>();
    for (const name of [...new Set([...now, ...was])].sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (!now.has(name)) {
        out.push({ rel: r, kind: Kind.Deleted });
        continue;
      }
      const st = await lstat(join(cur, r));
      const prev = was.has(name) && old ? await lstat(join(old, r)) : undefined;
      if (!prev) out.push({ rel: r, kind: Kind.Added });
      else if (!st.isDirectory() || !prev.isDirectory()) {
        if (await differs(join(cur, r), st, join(old!, r), prev)) out.push({ rel: r, kind: Kind.Modified });
      } else if (st.mode !== prev.mode || st.uid !== prev.uid || st.gid !== prev.gid) {
        out.push({ rel: r, kind: Kind.Modified });
      }
      if (st.isDirectory()) {
        const before = out.length;
        await walk(r);
        // A directory with changes inside counts as modified, as dockerd reports it.
        if (out.length > before && prev?.isDirectory() && !out.some((i) => i.rel === r)) {
          out.splice(before, 0, { rel: r, kind: Kind.Modified });
        }
      }
    }
  };
  await walk('');
  return out;
}

async function differs(a: string, sa: Stats, b: string, sb: Stats): Promise<boolean> {
  if (sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid || sa.rdev !== sb.rdev) return true;
  if (sa.isSymbolicLink()) return (await readlink(a)) !== (await readlink(b));
  return sa.size !== sb.size || sa.mtimeMs !== sb.mtimeMs;
}

/**
 * The layer's diff as a tar with AUFS whiteouts, in path order: what `docker commit` stores
 * and `docker save` of a committed image carries.
 */
export function diffTar(driver: GraphDriver, id: string, parent: string | undefined): Readable {
  return tarStream(async (w) => {
    const items = await diffItems(driver, id, parent);
    const root = driver.diffPath(id);
    const links = new Map<string, string>();
    for (const item of items) {
      if (item.kind === Kind.Deleted) {
        const i = item.rel.lastIndexOf('/');
        const name = i < 0 ? `.wh.${item.rel}` : `${item.rel.slice(0, i)}/.wh.${item.rel.slice(i + 1)}`;
        await w.addEntry({ name, type: 'file', mode: 0o644, size: 0 }, Buffer.alloc(0));
        continue;
      }
      await addPath(w, root, item.rel, links);
      if (item.opaque) await w.addEntry({ name: `${item.rel}/.wh..wh..opq`, type: 'file', mode: 0o644 }, Buffer.alloc(0));
    }
  });
}

/** A whole directory tree as a tar (`docker export` of a container's filesystem). */
export function directoryTar(root: string): Readable {
  return tarStream(async (w) => {
    const links = new Map<string, string>();
    const walk = async (rel: string): Promise<void> => {
      for (const name of (await readdir(join(root, rel))).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const st = await addPath(w, root, r, links);
        if (st.isDirectory()) await walk(r);
      }
    };
    await walk('');
  });
}

async function addPath(w: TarWriter, root: string, rel: string, links: Map<string, string>): Promise<Stats> {
  const path = join(root, rel);
  const st = await lstat(path);
  const xattrs: Record<string, Buffer> = {};
  for (const name of native.llistxattr(path)) {
    if (!/^(user|security)\./.test(name)) continue;
    const v = native.lgetxattr(path, name);
    if (v) xattrs[name] = v;
  }
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, xattrs };
  if (st.isDirectory()) {
    await w.addEntry({ ...base, name: `${rel}/`, type: 'dir' });
  } else if (st.isSymbolicLink()) {
    await w.addEntry({ ...base, name: rel, type: 'symlink', linkname: await readlink(path) });
  } else if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? links.get(key) : undefined;
    if (first) {
      await w.addEntry({ ...base, name: rel, type: 'link', linkname: first });
    } else {
      if (st.nlink > 1) links.set(key, rel);
      await w.addEntry({ ...base, name: rel, type: 'file', size: st.size }, createReadStream(path));
    }
  } else {
    const type: TarType = st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'fifo';
    await w.addEntry({ ...base, name: rel, type, devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
  }
  return st;
}
