import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter } from '../lib/errors.js';
import { native, S_IFBLK, S_IFCHR, S_IFIFO } from '../lib/native.js';
import { readTar, type TarEntry } from '../archive/reader.js';
import { SplitRecorder } from '../archive/split.js';

/**
 * Applies a layer tar to a directory, as dockerd's UnpackLayer does: AUFS whiteouts become
 * the driver's form (overlay: a 0/0 character device, and `trusted.overlay.opaque=y` on an
 * opaque directory; vfs: the path is deleted), and owners, modes, times, xattrs, links and
 * device nodes are kept. Hostile entries are refused with a 400 before anything is written
 * for them: a name that climbs out with `..` or is absolute, a hard link to a target outside
 * the layer, and any write through a symlink that leads out of the layer root.
 */
const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

export interface ApplyOptions {
  whiteouts: 'overlay' | 'delete';
  /** The tar-split record of the stream goes here. */
  split?: NodeJS.WritableStream;
}

export async function applyTar(root: string, tar: Readable, opts: ApplyOptions): Promise<{ size: number }> {
  const rec = opts.split ? new SplitRecorder(opts.split as never) : undefined;
  const reader = readTar(tar, rec ? { onTrailer: (b) => rec.trailer(b) } : {});
  const dirTimes: Array<[string, Date]> = [];
  const written = new Set<string>();
  let size = 0;
  for await (const entry of reader) {
    if (rec) await rec.entry(entry);
    size += await applyEntry(root, entry, opts, dirTimes, written);
  }
  // Directory times last: writing their children changed them.
  for (const [path, mtime] of dirTimes.reverse()) await utimes(path, mtime, mtime).catch(() => {});
  if (rec) await rec.finish();
  return { size };
}

/** The entry's path relative to the root; refuses absolute names and climbs out of it. */
export function cleanName(name: string): string {
  if (name.startsWith('/')) throw breakout(`${JSON.stringify(name)} is an absolute path`);
  const clean = posix.normalize(name.replace(/\/+$/, '') || '.');
  if (clean === '..' || clean.startsWith('../')) throw breakout(`${JSON.stringify(name)} is outside of the layer`);
  return clean === '.' ? '' : clean.replace(/^\.\//, '');
}

function breakout(detail: string): InvalidParameter {
  return new InvalidParameter(`invalid layer: breakout: ${detail}`);
}

/**
 * Resolves `rel`'s parent directories inside `root` without ever leaving it: a symlink on the
 * way is followed only if it stays inside (relative, not climbing out); otherwise the entry
 * is refused. Missing parents are created (as dockerd's MkdirAll does).
 */
async function safeParent(root: string, rel: string): Promise<string> {
  const parts = rel.split('/').slice(0, -1);
  let cur: string[] = [];
  for (let hops = 0; parts.length > 0;) {
    const part = parts.shift()!;
    const next = [...cur, part];
    const path = join(root, ...next);
    const st = await lstat(path).catch(() => undefined);
    if (!st) {
      await mkdir(path, { mode: 0o755 });
      cur = next;
    } else if (st.isSymbolicLink()) {
      if (++hops > 40) throw breakout(`too many symlinks under ${rel}`);
      const target = await readlink(path);
      if (target.startsWith('/')) throw breakout(`${rel} is written through the symlink ${next.join('/')} -> ${target}`);
      const resolved = posix.normalize(posix.join(cur.join('/'), target));
      if (resolved === '..' || resolved.startsWith('../')) {
        throw breakout(`${rel} is written through the symlink ${next.join('/')} -> ${target}`);
      }
      cur = [];
      parts.unshift(...resolved.split('/').filter((p) => p && p !== '.'));
    } else if (st.isDirectory()) {
      cur = next;
    } else {
      throw new InvalidParameter(`invalid layer: ${next.join('/')} is not a directory (needed by ${rel})`);
    }
  }
  return join(root, ...cur);
}

async function removeExisting(path: string, isDir: boolean): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (isDir && st.isDirectory()) return;
  await rm(path, { recursive: true, force: true });
}

async function applyEntry(
  root: string, entry: TarEntry, opts: ApplyOptions, dirTimes: Array<[string, Date]>, written: Set<string>,
): Promise<number> {
  const h = entry.header;
  const rel = cleanName(h.name);
  if (rel === '') {
    // The root itself: take its metadata, nothing to create.
    await setMeta(root, entry, false);
    dirTimes.push([root, h.mtime]);
    return 0;
  }
  const base = posix.basename(rel);
  const parent = await safeParent(root, rel);
  const path = join(parent, base);

  if (base.startsWith(WH)) {
    if (base === OPAQUE) {
      if (opts.whiteouts === 'overlay') native.lsetxattr(parent, 'trusted.overlay.opaque', Buffer.from('y'));
      else {
        const dirRel = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
        for (const child of await readdir(parent)) {
          const childRel = dirRel ? `${dirRel}/${child}` : child;
          if (!written.has(childRel)) await rm(join(parent, child), { recursive: true, force: true });
        }
      }
    } else if (!base.startsWith(`${WH}${WH}`)) {
      const victim = join(parent, base.slice(WH.length));
      await rm(victim, { recursive: true, force: true });
      if (opts.whiteouts === 'overlay') native.mknod(victim, S_IFCHR | 0o000, 0, 0);
    }
    entry.body.resume();
    return 0;
  }

  written.add(rel);
  let size = 0;
  switch (h.type) {
    case 'dir': {
      await removeExisting(path, true);
      await mkdir(path, { mode: h.mode & 0o7777 }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err; });
      await setMeta(path, entry, false);
      dirTimes.push([path, h.mtime]);
      return 0;
    }
    case 'file': {
      await removeExisting(path, false);
      await pipeline(entry.body, createWriteStream(path, { mode: 0o600, flags: 'wx' }));
      size = h.size;
      break;
    }
    case 'symlink':
      await removeExisting(path, false);
      await symlink(h.linkname, path);
      // As dockerd's directory.Size counts it: the lstat size, the length of the target.
      size = Buffer.byteLength(h.linkname);
      break;
    case 'link': {
      const target = cleanName(h.linkname);
      if (target === '') throw breakout(`hard link ${rel} to the layer root`);
      const targetPath = join(await safeParent(root, target), posix.basename(target));
      const st = await lstat(targetPath).catch(() => undefined);
      if (!st) throw new InvalidParameter(`invalid layer: hard link ${rel} to missing ${target}`);
      await removeExisting(path, false);
      await link(targetPath, path);
      return 0;
    }
    case 'char':
    case 'block':
    case 'fifo': {
      await removeExisting(path, false);
      const kind = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
      native.mknod(path, kind | (h.mode & 0o7777), h.devmajor, h.devminor);
      break;
    }
  }
  await setMeta(path, entry, h.type === 'symlink');
  return size;
}

async function setMeta(path: string, entry: TarEntry, isLink: boolean): Promise<void> {
  const h = entry.header;
  await lchown(path, h.uid, h.gid);
  for (const [name, value] of Object.entries(h.xattrs)) {
    // Only the namespaces a layer may carry; trusted.* would let an image fake overlay state.
    if (/^(user|security)\./.test(name) || name === 'trusted.overlay.opaque') native.lsetxattr(path, name, value);
  }
  if (!isLink) await chmod(path, h.mode & 0o7777);
  if (h.type !== 'dir') await lutimes(path, h.mtime, h.mtime);
}
