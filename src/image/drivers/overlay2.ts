import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native, MNT_DETACH } from '../../lib/native.js';
import { NotFound, SystemError } from '../../lib/errors.js';
import type { GraphDriver } from './driver.js';

/** Mount options longer than this go relative (the kernel copies one page of them, NUL included). */
const PAGE_LIMIT = 4000;
const LINK_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * overlay2 as dockerd lays it out under `<data-root>/overlay2`:
 *   l/<26 chars>      a short symlink to ../<id>/diff, so that 120+ lower layers fit in the
 *                     one page the kernel allows for mount options
 *   <id>/diff         the layer's own files
 *   <id>/link         its short name
 *   <id>/lower        l/A:l/B:... of every layer below, nearest first
 *   <id>/work, merged for a mounted layer with a parent
 * A layer without a parent is never mounted: its diff is its whole view.
 */
export class Overlay2 implements GraphDriver {
  readonly name = 'overlay2' as const;
  readonly whiteouts = 'overlay' as const;
  readonly #home: string;
  readonly #mounts = new Map<string, number>();
  readonly #backing: string;
  /**
   * Layers found mounted when this driver started (a daemon killed, or live-restore): the
   * first get adopts such a mount instead of mounting again, and a put with no reference
   * unmounts it.
   */
  #found?: Set<string>;

  constructor(home: string, backing = 'extfs') {
    this.#home = home;
    this.#backing = backing;
  }

  static async supported(home: string): Promise<boolean> {
    const fs = await readFile('/proc/filesystems', 'utf8').catch(() => '');
    if (!/\toverlay\n/.test(fs)) return false;
    // Mount one for real: overlay refuses some backing filesystems (overlay on overlay, ...).
    const probe = join(home, `probe-${randomBytes(4).toString('hex')}`);
    try {
      await Promise.all(['lower', 'upper', 'work', 'merged'].map((d) => mkdir(join(probe, d), { recursive: true })));
      native.mount('overlay', join(probe, 'merged'), 'overlay', 0,
        `lowerdir=${join(probe, 'lower')},upperdir=${join(probe, 'upper')},workdir=${join(probe, 'work')}`, '');
      native.umount2(join(probe, 'merged'), MNT_DETACH);
      return true;
    } catch {
      return false;
    } finally {
      await rm(probe, { recursive: true, force: true });
    }
  }

  async init(): Promise<void> {
    await mkdir(join(this.#home, 'l'), { recursive: true, mode: 0o700 });
  }

  #dir(id: string): string {
    if (!/^[0-9a-f]{64}(-init)?$/.test(id)) throw new SystemError(`invalid layer id ${id}`);
    return join(this.#home, id);
  }

  diffPath(id: string): string { return join(this.#dir(id), 'diff'); }

  /** Synchronous calls: a handful of tiny local operations on the path of every create. */
  async create(id: string, parent: string | undefined): Promise<void> {
    const dir = this.#dir(id);
    mkdirSync(dir, { mode: 0o700 });
    mkdirSync(join(dir, 'diff'), { mode: 0o755 });
    const link = Array.from(randomBytes(26), (b) => LINK_CHARS[b % LINK_CHARS.length]).join('');
    symlinkSync(join('..', id, 'diff'), join(this.#home, 'l', link));
    writeFileSync(join(dir, 'link'), link);
    if (parent) await this.attach(id, parent);
  }

  async attach(id: string, parent: string): Promise<void> {
    const dir = this.#dir(id);
    const pdir = this.#dir(parent);
    const plink = readFileSync(join(pdir, 'link'), 'utf8');
    let plower = '';
    try { plower = readFileSync(join(pdir, 'lower'), 'utf8'); } catch { /* a base layer */ }
    writeFileSync(join(dir, 'lower'), plower ? `l/${plink}:${plower}` : `l/${plink}`);
    mkdirSync(join(dir, 'work'), { mode: 0o700 });
  }

  createReadWrite(id: string, parent: string | undefined): Promise<void> {
    return this.create(id, parent);
  }

  async exists(id: string): Promise<boolean> {
    return access(this.#dir(id)).then(() => true, () => false);
  }

  async get(id: string): Promise<string> {
    const dir = this.#dir(id);
    const lower = await readFile(join(dir, 'lower'), 'utf8').catch(() => '');
    if (!lower) {
      if (!(await this.exists(id))) throw new NotFound(`layer ${id} does not exist`);
      return join(dir, 'diff');
    }
    const merged = join(dir, 'merged');
    const count = this.#mounts.get(id) ?? 0;
    if (count === 0 && (await this.#foundMounts()).delete(id)) {
      this.#mounts.set(id, 1);
      return merged;
    }
    if (count === 0) {
      await mkdir(merged, { recursive: true, mode: 0o700 });
      // Absolute paths when they fit the kernel's one-page option limit; else relative to the
      // driver home, which costs a fork (the mount runs in a child that changes there).
      const home = this.#home;
      const absolute = `lowerdir=${lower.split(':').map((l) => join(home, l)).join(':')},upperdir=${join(home, id, 'diff')},workdir=${join(home, id, 'work')}`;
      if (absolute.length < PAGE_LIMIT) native.mount('overlay', merged, 'overlay', 0, absolute, '');
      else native.mount('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${id}/diff,workdir=${id}/work`, home);
    }
    this.#mounts.set(id, count + 1);
    return merged;
  }

  async put(id: string): Promise<void> {
    const count = this.#mounts.get(id) ?? 0;
    if (count === 0) {
      if ((await this.#foundMounts()).delete(id)) unmount(join(this.#dir(id), 'merged'));
      return;
    }
    if (count > 1) {
      this.#mounts.set(id, count - 1);
      return;
    }
    this.#mounts.delete(id);
    unmount(join(this.#dir(id), 'merged'));
  }

  async remove(id: string): Promise<void> {
    const dir = this.#dir(id);
    if (this.#mounts.has(id) || (await this.#foundMounts()).delete(id)) {
      this.#mounts.delete(id);
      unmount(join(dir, 'merged'));
    }
    const link = await readFile(join(dir, 'link'), 'utf8').catch(() => '');
    if (link && /^[A-Z0-9]{26}$/.test(link)) await rm(join(this.#home, 'l', link), { force: true });
    await rm(dir, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(this.#home)).filter((n) => /^[0-9a-f]{64}(-init)?$/.test(n));
  }

  status(): Array<[string, string]> {
    return [['Backing Filesystem', this.#backing], ['Supports d_type', 'true'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']];
  }

  async cleanup(keep?: ReadonlySet<string>): Promise<void> {
    for (const id of this.#mounts.keys()) if (!keep?.has(id)) unmount(join(this.#dir(id), 'merged'));
    this.#mounts.clear();
  }

  /** Unmounts the mounts found at start that nothing adopted (after containers are restored). */
  async dropFound(): Promise<void> {
    for (const id of await this.#foundMounts()) unmount(join(this.#dir(id), 'merged'));
    this.#found?.clear();
  }

  async #foundMounts(): Promise<Set<string>> {
    if (this.#found) return this.#found;
    const found = new Set<string>();
    const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const prefix = `${this.#home}/`;
    for (const line of info.split('\n')) {
      const point = line.split(' ')[4]?.replace(/\\040/g, ' ');
      if (point?.startsWith(prefix) && point.endsWith('/merged')) found.add(point.slice(prefix.length, -'/merged'.length));
    }
    this.#found ??= found;
    return this.#found;
  }

  /** GraphDriver.Data of inspect: the directories the layer's mount is made of. */
  async metadata(id: string): Promise<Record<string, string>> {
    const dir = this.#dir(id);
    const lower = await readFile(join(dir, 'lower'), 'utf8').catch(() => '');
    const data: Record<string, string> = {};
    if (lower) {
      const dirs = await Promise.all(lower.split(':').map(async (l) => {
        const target = await readlink(join(this.#home, l)).catch(() => '');
        return target ? join(this.#home, 'l', target) : join(this.#home, l);
      }));
      data.LowerDir = dirs.join(':');
    }
    Object.assign(data, { MergedDir: join(dir, 'merged'), UpperDir: join(dir, 'diff'), WorkDir: join(dir, 'work') });
    return data;
  }

  /** For tests and debugging: where a short link points. */
  async resolveLink(link: string): Promise<string> {
    return readlink(join(this.#home, 'l', link));
  }

  static async backingFs(path: string): Promise<string> {
    await stat(path);
    return 'extfs';
  }
}

function unmount(path: string): void {
  try {
    native.umount2(path, MNT_DETACH);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
