import { mkdir, readdir, readFile, rm, stat, realpath } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { writeJsonAtomic } from '../lib/atomic.js';
import { InvalidParameter, NotFound, SystemError, errorMessage } from '../lib/errors.js';
import { native, MS, MNT_DETACH } from '../lib/native.js';
import type { Log } from '../lib/log.js';
import type { Driver } from './driver.js';
import { ramInBytes } from '../config/units.js';

/** The options a local volume may be given, and which others each one needs (dockerd's). */
const VALID_OPTS = new Set(['type', 'o', 'device', 'size']);
const MANDATORY: Array<[string, string[]]> = [['device', ['type']], ['type', ['device']], ['o', ['device', 'type']]];
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** opts.json beside a volume's _data, in dockerd's field names. */
interface LocalOpts {
  MountType: string;
  MountOpts: string;
  MountDevice: string;
  Quota: { Size: number };
}

interface LocalVolume {
  path: string;
  opts?: LocalOpts;
  active: number;
  mounted: boolean;
}

/** A volume name the local driver accepts, with dockerd's messages. */
export function validateLocalName(name: string): void {
  if (name.length === 1) {
    throw new InvalidParameter('volume name is too short, names should be at least two alphanumeric characters');
  }
  if (!NAME.test(name)) {
    throw new InvalidParameter(`${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/**
 * The "local" driver: each volume is `<data-root>/volumes/<name>/_data`; one given
 * type/device/o is mounted there (tmpfs, a bind, a block device) while some container uses it.
 */
export class LocalDriver implements Driver {
  readonly name = 'local';
  readonly scope = 'local' as const;
  readonly root: string;
  readonly #volumes = new Map<string, LocalVolume>();
  readonly #log: Log;

  private constructor(root: string, log: Log) {
    this.root = root;
    this.#log = log;
  }

  static async open(dataRoot: string, log: Log): Promise<LocalDriver> {
    const root = join(dataRoot, 'volumes');
    await mkdir(root, { recursive: true, mode: 0o701 });
    const d = new LocalDriver(root, log);
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const v: LocalVolume = { path: d.dataPath(entry.name), active: 0, mounted: false };
      const raw = await readFile(join(root, entry.name, 'opts.json'), 'utf8').catch(() => undefined);
      if (raw !== undefined) {
        try {
          const opts = JSON.parse(raw) as LocalOpts;
          if (opts.MountType || opts.MountDevice || opts.MountOpts || opts.Quota?.Size) v.opts = opts;
        } catch (err) {
          log.warn({ err, volume: entry.name }, 'unreadable volume options: skipped');
        }
        // What an unclean stop left mounted.
        try { native.umount2(v.path, MNT_DETACH); } catch { /* not mounted */ }
      }
      d.#volumes.set(entry.name, v);
    }
    return d;
  }

  dataPath(name: string): string { return join(this.root, name, '_data'); }

  /** Whether the volume has driver options (prune and df leave those alone, as dockerd). */
  hasOptions(name: string): boolean { return !!this.#volumes.get(name)?.opts; }

  async create(name: string, opts: Record<string, string>): Promise<void> {
    validateLocalName(name);
    if (this.#volumes.has(name)) return;
    const parsed = parseOpts(opts);
    const path = this.dataPath(name);
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o701 });
    } catch (err) {
      throw new SystemError(`error while creating volume root path '${dirname(path)}': ${errorMessage(err)}`, { cause: err });
    }
    try {
      await mkdir(path, { recursive: true, mode: 0o755 });
      if (parsed) await writeJsonAtomic(join(dirname(path), 'opts.json'), parsed, { mode: 0o600 });
    } catch (err) {
      await rm(dirname(path), { recursive: true, force: true });
      throw new SystemError(`error while creating volume data path '${path}': ${errorMessage(err)}`, { cause: err });
    }
    this.#volumes.set(name, { path, active: 0, mounted: false, ...(parsed ? { opts: parsed } : {}) });
  }

  async remove(name: string): Promise<void> {
    const v = this.#volumes.get(name);
    if (!v) throw new NotFound('volume not found');
    if (v.active > 0) throw new SystemError('volume has active mounts');
    this.#unmount(v);
    // Never delete through a mount that is still there (a bind-style volume's device is the
    // user's own directory).
    if (await mounted(v.path)) {
      try { native.umount2(v.path, MNT_DETACH); } catch { /* checked below */ }
      if (await mounted(v.path)) throw new SystemError(`remove ${name}: ${v.path} is still mounted`);
    }
    const dir = dirname(v.path);
    const real = await realpath(v.path).catch(() => dir);
    if (!real.startsWith(this.root + '/')) {
      throw new SystemError(`Unable to remove a directory outside of the local volume root ${dirname(this.root)}: ${real}`);
    }
    try {
      await rm(real, { recursive: true, force: true });
      this.#volumes.delete(name);
      await rm(dir, { recursive: true, force: true });
    } catch (err) {
      throw new SystemError(`error removing volume path '${dir}': ${errorMessage(err)}`, { cause: err });
    }
  }

  async exists(name: string): Promise<boolean> { return this.#volumes.has(name); }
  async list(): Promise<string[]> { return [...this.#volumes.keys()]; }

  async path(name: string): Promise<string> {
    const v = this.#volumes.get(name);
    if (!v) throw new NotFound('volume not found');
    return v.path;
  }

  /** The volume's options as `docker volume inspect` does not show them: for `needsMount`. */
  options(name: string): LocalOpts | undefined { return this.#volumes.get(name)?.opts; }

  async mount(name: string, _id: string): Promise<string> {
    const v = this.#volumes.get(name);
    if (!v) throw new NotFound('volume not found');
    if (needsMount(v)) {
      if (!v.mounted) {
        try {
          mountLocal(v.opts!, v.path);
        } catch (err) {
          throw new SystemError(`failed to mount local volume: ${errorMessage(err)}`, { cause: err });
        }
        v.mounted = true;
      }
      v.active++;
    }
    return v.path;
  }

  async unmount(name: string, _id: string): Promise<void> {
    const v = this.#volumes.get(name);
    if (!v) return;
    if (needsMount(v)) v.active = Math.max(0, v.active - 1);
    if (v.active > 0) return;
    this.#unmount(v);
  }

  async createdAt(name: string): Promise<Date | undefined> {
    const v = this.#volumes.get(name);
    if (!v) return undefined;
    const st = await stat(v.path).catch(() => undefined);
    return st?.ctime;
  }

  /** Unmounts every volume the driver mounted (daemon shutdown). */
  closeAll(): void {
    for (const v of this.#volumes.values()) {
      v.active = 0;
      try { this.#unmount(v); } catch (err) { this.#log.warn({ err, path: v.path }, 'unmounting a volume failed'); }
    }
  }

  #unmount(v: LocalVolume): void {
    if (!needsMount(v) || !v.mounted) return;
    try {
      native.umount2(v.path, 0);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'ENOENT') throw new SystemError(errorMessage(err), { cause: err });
    }
    v.mounted = false;
  }
}

function needsMount(v: LocalVolume): boolean {
  return !!v.opts && (v.opts.MountDevice !== '' || v.opts.MountType !== '');
}

function parseOpts(opts: Record<string, string>): LocalOpts | undefined {
  const keys = Object.keys(opts ?? {});
  if (keys.length === 0) return undefined;
  for (const k of keys) {
    if (!VALID_OPTS.has(k)) throw new InvalidParameter(`invalid option: ${JSON.stringify(k)}`);
  }
  for (const [opt, needs] of MANDATORY) {
    if (!(opt in opts)) continue;
    for (const n of needs) {
      if (!(n in opts)) throw new InvalidParameter(`missing required option: ${JSON.stringify(n)}`);
    }
  }
  const parsed: LocalOpts = { MountType: opts.type ?? '', MountOpts: opts.o ?? '', MountDevice: opts.device ?? '', Quota: { Size: 0 } };
  if (opts.size !== undefined) {
    let size: number;
    try { size = ramInBytes(opts.size); } catch (err) { throw new InvalidParameter(errorMessage(err), { cause: err }); }
    // No project quotas here, as dockerd on a filesystem without them.
    if (size > 0) throw new InvalidParameter('quota size requested but no quota support');
  }
  return parsed;
}

/** Mount flags by name, as moby/sys/mount's parseOptions reads an `o=` list. */
const FLAGS: Record<string, [clear: boolean, flag: number]> = {
  defaults: [false, 0], ro: [false, MS.RDONLY], rw: [true, MS.RDONLY], suid: [true, MS.NOSUID], nosuid: [false, MS.NOSUID],
  dev: [true, MS.NODEV], nodev: [false, MS.NODEV], exec: [true, MS.NOEXEC], noexec: [false, MS.NOEXEC],
  sync: [false, 16], async: [true, 16], dirsync: [false, 128], remount: [false, MS.REMOUNT], mand: [false, 64], nomand: [true, 64],
  atime: [true, 1024], noatime: [false, 1024], diratime: [true, 2048], nodiratime: [false, 2048],
  bind: [false, MS.BIND], rbind: [false, MS.BIND | MS.REC], relatime: [false, 1 << 21], norelatime: [true, 1 << 21],
  strictatime: [false, 1 << 24], nostrictatime: [true, 1 << 24],
};

export function parseMountOptions(o: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of o.split(',')) {
    if (opt === '') continue;
    const f = FLAGS[opt];
    if (!f) { data.push(opt); continue; }
    if (f[0]) flags &= ~f[1]; else flags |= f[1];
  }
  return { flags, data: data.join(',') };
}

function mountLocal(opts: LocalOpts, target: string): void {
  if (!opts.MountDevice) throw new Error('missing device in volume options');
  const { flags, data } = parseMountOptions(opts.MountOpts);
  // A bind with other flags needs a remount to apply them, as moby/sys/mount does.
  if (flags & MS.BIND && flags & ~(MS.BIND | MS.REC)) {
    native.mount(opts.MountDevice, target, opts.MountType === 'none' ? '' : opts.MountType, flags & (MS.BIND | MS.REC), data, '');
    native.mount('', target, '', flags | MS.REMOUNT | MS.BIND, data, '');
    return;
  }
  native.mount(opts.MountDevice, target, opts.MountType, flags, data, '');
}

/** Whether `path` is a mount point in this namespace (an entry of /proc/self/mountinfo). */
async function mounted(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  // Field 5 is the mount point, with spaces and the like octal-escaped.
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((l) => l.split(' ')[4] === escaped);
}
