import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink, link, utimes, stat, constants } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { native } from '../lib/native.js';

/**
 * Copy-up: the image's content at a volume's mount point goes into the volume the first
 * time an empty one is mounted, owners, modes, times, links and xattrs kept, as dockerd's
 * copyExistingContents. Nothing is copied when the source is absent or the volume has data.
 * Returns whether anything was copied.
 */
export async function copyUp(source: string, volume: string): Promise<boolean> {
  const st = await stat(source).catch(() => undefined);
  if (!st || !st.isDirectory()) return false;
  if ((await readdir(volume)).length > 0) return false;
  await copyDir(source, volume, new Map());
  return true;
}

async function copyDir(src: string, dst: string, inodes: Map<string, string>): Promise<void> {
  const st = await lstat(src);
  await mkdir(dst, { mode: st.mode & 0o7777 }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err; });
  for (const entry of await readdir(src)) {
    const s = join(src, entry);
    const d = join(dst, entry);
    const es = await lstat(s);
    if (es.isDirectory()) {
      await copyDir(s, d, inodes);
      continue;
    }
    const key = `${es.dev}:${es.ino}`;
    if (!es.isDirectory() && es.nlink > 1 && inodes.has(key)) {
      await link(inodes.get(key)!, d);
      continue;
    }
    if (es.isFile()) await copyFile(s, d, constants.COPYFILE_FICLONE);
    else if (es.isSymbolicLink()) await symlink(await readlink(s), d);
    else if (es.isFIFO() || es.isCharacterDevice() || es.isBlockDevice()) {
      native.mknod(d, es.mode, Math.floor(es.rdev / 256) & 0xfff, (es.rdev & 0xff) | ((es.rdev >> 12) & 0xfff00));
    } else continue; // sockets are not copied
    if (es.nlink > 1) inodes.set(key, d);
    await copyInfo(es, s, d);
  }
  await copyInfo(st, src, dst);
}

async function copyInfo(st: Stats, src: string, dst: string): Promise<void> {
  await lchown(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) await chmod(dst, st.mode & 0o7777);
  copyXattrs(src, dst);
  if (st.isSymbolicLink()) await lutimes(dst, st.atime, st.mtime).catch(() => {});
  else await utimes(dst, st.atime, st.mtime);
}

function copyXattrs(src: string, dst: string): void {
  let names: string[];
  try { names = native.llistxattr(src); } catch { return; }
  for (const n of names) {
    // SELinux labels and the like that the volume's filesystem may refuse are skipped.
    try {
      const v = native.lgetxattr(src, n);
      if (v) native.lsetxattr(dst, n, v);
    } catch { /* unsupported here */ }
  }
}
