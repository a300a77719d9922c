import { lstat, mkdir, open, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The init layer between an image and a container's own layer, as dockerd's setupInitLayer
 * fills it: mount points and files the runtime bind-mounts over, so that they exist whatever
 * the image holds, and stay out of the container's diff and of `docker commit`.
 */
const DIRS = ['/dev/pts', '/dev/shm', '/proc', '/sys'];
const FILES = ['/.dockerenv', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/dev/console'];

export async function setupInitLayer(root: string, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): Promise<void> {
  for (const d of DIRS) {
    await mkdir(join(root, d), { recursive: true, mode: 0o755 });
  }
  for (const f of FILES) {
    const path = join(root, f);
    if (await lstat(path).then(() => true, () => false)) continue;
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const fh = await open(path, 'w', 0o755);
    await fh.chown(owner.uid, owner.gid);
    await fh.close();
  }
  const mtab = join(root, '/etc/mtab');
  if (!(await lstat(mtab).then(() => true, () => false))) {
    await mkdir(dirname(mtab), { recursive: true, mode: 0o755 });
    await symlink('/proc/mounts', mtab);
  }
}
