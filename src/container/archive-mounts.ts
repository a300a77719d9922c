/**
 * The filesystem `docker cp` works on, as dockerd 20.10 builds it for an archive operation
 * (daemon.mountVolumes over the mounted root): the container's root with its bind mounts and
 * volumes, then /etc/resolv.conf, /etc/hostname and /etc/hosts, bound over it. tmpfs mounts
 * are not: they live in the container's namespace alone, so a copy sees the directory under
 * them.
 *
 * dockerd mounts these over the container's own root mount; here each operation gets a
 * private bind of the root in a directory of its own, so a copy never changes what a running
 * container sees, two copies never stack mounts on each other, and one detach undoes it all.
 * Mount targets are resolved in the container's scope and then pinned with an O_PATH file
 * descriptor whose path is checked, so a symlink swapped in by a running container cannot
 * move a mount onto a host path.
 */
import { constants, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { native, MNT_DETACH, MS } from '../lib/native.js';
import { SystemError } from '../lib/errors.js';
import { resolveInScope } from './archive-path.js';

/** One mount of the archive view, as dockerd's container.Mount. */
export interface ArchiveMount {
  source: string;
  destination: string;
  writable: boolean;
  /** rbind (the default) or bind (BindOptions.NonRecursive). */
  recursive: boolean;
  /** A missing source directory is created, as `-v` binds are at start (not `--mount` ones). */
  createSource?: boolean;
  /** Set for volumes: dockerd logs volume mount/unmount events for them. */
  volume?: { name: string; driver: string; propagation: string };
}

/** The files the daemon binds into every container, in dockerd's order (container.NetworkMounts). */
export const NETWORK_FILES = ['/etc/resolv.conf', '/etc/hostname', '/etc/hosts'];

const O_PATH = 0o10000000;
const UMOUNT_NOFOLLOW = 8;

/** dockerd's sortMounts: fewer path elements first, so a parent is mounted before its children. */
export function sortMounts<T extends { destination: string }>(mounts: T[]): T[] {
  const parts = (p: string) => posix.normalize(p).split('/').length;
  return [...mounts].sort((a, b) => parts(a.destination) - parts(b.destination));
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.message ?? String(err);
}

/**
 * Runs `fn` with a /proc/self/fd path that names exactly `target` (no symlink followed on
 * the way, checked after the open), for mount(2) to act on that very file or directory.
 */
async function atExactly(target: string, fn: (path: string) => void): Promise<void> {
  const fh = await fsp.open(target, O_PATH | constants.O_NOFOLLOW);
  try {
    const at = `/proc/self/fd/${fh.fd}`;
    const real = await fsp.readlink(at);
    const st = await fh.stat();
    if (real !== target || st.isSymbolicLink()) throw new SystemError(`mount target ${target} moved while it was being mounted`);
    fn(at);
  } finally {
    await fh.close();
  }
}

/** dockerd's fileutils.CreateIfNotExists: the mount target, a directory or an empty file. */
async function createIfNotExists(path: string, dir: boolean): Promise<void> {
  const st = await fsp.lstat(path).catch(() => undefined);
  if (st) return;
  if (dir) {
    await fsp.mkdir(path, { recursive: true, mode: 0o755 });
    return;
  }
  await fsp.mkdir(posix.dirname(path), { recursive: true, mode: 0o755 });
  const fh = await fsp.open(path, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o755).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return undefined;
    throw err;
  });
  await fh?.close();
}

/** Mount points in /proc/self/mountinfo (field 5, octal escapes decoded). */
async function mountPoints(): Promise<string[]> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter(Boolean)
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

function detach(path: string): void {
  try {
    native.umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOENT') throw err;
  }
}

/**
 * Detaches what an earlier daemon left mounted under `base` (it was killed during a copy),
 * and removes the empty directories.
 */
export async function clearStale(base: string): Promise<void> {
  base = await fsp.realpath(base).catch(() => base);
  // Only each tree's root: detaching it takes the mounts over it along, and paths below it
  // run through the container's files, which are not to be followed.
  const roots = new Set((await mountPoints()).filter((p) => p.startsWith(base + '/') && !p.slice(base.length + 1).includes('/')));
  for (const p of roots) detach(p);
  for (const name of await fsp.readdir(base).catch(() => [] as string[])) await fsp.rmdir(posix.join(base, name)).catch(() => {});
}

/** A container's root with its mounts over it, private to one archive operation. */
export class MountTree {
  /** The composed root: resolve container paths under it. */
  readonly root: string;
  #released = false;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Binds `rootfs` at a new directory under `base` (made private at once, so nothing mounted
   * on it propagates anywhere), then each mount over it in order.
   */
  static async build(base: string, rootfs: string, mounts: ArchiveMount[], onMounted?: (m: ArchiveMount) => void): Promise<MountTree> {
    await fsp.mkdir(base, { recursive: true, mode: 0o700 });
    // The real path: mount targets are checked against what the kernel says they are.
    const dir = posix.join(await fsp.realpath(base), randomBytes(8).toString('hex'));
    await fsp.mkdir(dir, { mode: 0o700 });
    const tree = new MountTree(dir);
    try {
      native.mount(rootfs, dir, '', MS.BIND, '', '');
    } catch (err) {
      await fsp.rmdir(dir).catch(() => {});
      throw new SystemError(`mounting the container's root for the copy: ${errnoText(err)}`, { cause: err });
    }
    try {
      native.mount('', dir, '', MS.PRIVATE, '', '');
      for (const m of mounts) {
        await tree.#mount(m);
        onMounted?.(m);
      }
      return tree;
    } catch (err) {
      await tree.release();
      throw err;
    }
  }

  async #mount(m: ArchiveMount): Promise<void> {
    let st = await fsp.stat(m.source).catch(() => undefined);
    if (!st && m.createSource) {
      await fsp.mkdir(m.source, { recursive: true, mode: 0o755 }).catch((err: unknown) => {
        throw new SystemError(`error while creating mount source path '${m.source}': ${errnoText(err)}`, { cause: err });
      });
      st = await fsp.stat(m.source).catch(() => undefined);
    }
    if (!st) throw new SystemError(`stat ${m.source}: no such file or directory`);
    const target = await resolveInScope(this.root, m.destination);
    // Only the root's own bind sits at the root: one detach of it undoes everything.
    if (target === this.root) throw new SystemError(`cannot mount ${m.destination} over the container's root for the copy`);
    await createIfNotExists(target, st.isDirectory());
    try {
      await atExactly(target, (p) => native.mount(m.source, p, '', MS.BIND | (m.recursive ? MS.REC : 0), '', ''));
      // Private, so that undoing it never reaches the source's own mounts; read-only if asked.
      await atExactly(target, (p) => native.mount('', p, '', MS.PRIVATE | MS.REC, '', ''));
      if (!m.writable) await atExactly(target, (p) => native.mount('', p, '', MS.BIND | MS.REMOUNT | MS.RDONLY, '', ''));
    } catch (err) {
      if (err instanceof SystemError) throw err;
      throw new SystemError(`mounting ${m.destination} for the copy: ${errnoText(err)}`, { cause: err });
    }
  }

  /** Detaches the whole tree (lazily: files a stream still holds open stay readable) and removes its directory. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    detach(this.root);
    await fsp.rmdir(this.root).catch(() => {});
  }
}
