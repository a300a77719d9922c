import { closeSync, fchownSync, lstatSync, mkdirSync, openSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The init layer between an image and a container's own layer, as dockerd's setupInitLayer
 * fills it: mount points and files the runtime bind-mounts over, so that they exist whatever
 * the image holds, and stay out of the container's diff and of `docker commit`.
 */
const DIRS = ['/dev/pts', '/dev/shm', '/proc', '/sys'];
const FILES = ['/.dockerenv', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/dev/console'];

const exists = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;

/**
 * Synchronous on purpose: a score of tiny metadata calls on a freshly made local layer,
 * on the path of every `docker create`; through the thread pool each would cost more in
 * hand-offs than in work.
 */
export async function setupInitLayer(root: string, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): Promise<void> {
  for (const d of DIRS) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  for (const f of FILES) {
    const path = join(root, f);
    if (exists(path)) continue;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const fd = openSync(path, 'w', 0o755);
    try { fchownSync(fd, owner.uid, owner.gid); } finally { closeSync(fd); }
  }
  const mtab = join(root, '/etc/mtab');
  if (!exists(mtab)) {
    mkdirSync(dirname(mtab), { recursive: true, mode: 0o755 });
    symlinkSync('/proc/mounts', mtab);
  }
}
