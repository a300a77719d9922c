import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameter } from '../../lib/errors.js';
import type { OciDevice, OciDeviceCgroup } from './types.js';

/**
 * Device nodes and devices-cgroup rules. "Default rules" are what every unprivileged container
 * gets: dockerd 20.10's list, followed by the defaults runc adds on its own, written out so the
 * spec says everything the container may touch.
 */
const rule = (type: string, major: number | undefined, minor: number | undefined, access = 'rwm', allow = true): OciDeviceCgroup => {
  const r: OciDeviceCgroup = { allow, type };
  if (major !== undefined) r.major = major;
  if (minor !== undefined) r.minor = minor;
  r.access = access;
  return r;
};

export function defaultDeviceRules(): OciDeviceCgroup[] {
  return [
    { allow: false, access: 'rwm' },
    rule('c', 1, 5), // zero
    rule('c', 1, 3), // null
    rule('c', 1, 9), // urandom
    rule('c', 1, 8), // random
    rule('c', 5, 0), // tty
    rule('c', 5, 1), // console
    rule('c', 10, 229, 'rwm', false), // fuse
    rule('c', undefined, undefined, 'm'), // mknod of any char device
    rule('b', undefined, undefined, 'm'), // mknod of any block device
    rule('c', 1, 7), // full
    rule('c', 136, undefined), // pts
    rule('c', 5, 2), // ptmx
    rule('c', 10, 200), // tun
  ];
}

/** The device at `path` (not followed if a symlink), or undefined if it is no char/block device. */
async function deviceAt(path: string): Promise<Omit<OciDevice, 'path'> | undefined> {
  const st = await lstat(path, { bigint: false });
  const fmt = st.mode & constants.S_IFMT;
  let type: string;
  if (fmt === constants.S_IFCHR) type = 'c';
  else if (fmt === constants.S_IFBLK) type = 'b';
  else return undefined;
  const rdev = st.rdev;
  // Linux's new_encode_dev layout.
  const major = (Math.floor(rdev / 256) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
  return { type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/**
 * `--device`: one node, or every node under a directory, as oci.DevicesFromPath does. A symlink
 * on the host is followed once.
 */
export async function devicesFromPath(m: DeviceMapping): Promise<{ devices: OciDevice[]; rules: OciDeviceCgroup[] }> {
  const perms = m.CgroupPermissions || 'rwm';
  const inContainer = m.PathInContainer || m.PathOnHost;
  let resolved = m.PathOnHost;
  try {
    if ((await lstat(resolved)).isSymbolicLink()) resolved = await realpath(resolved);
  } catch {
    // Reported below by the device lookup itself.
  }
  const devices: OciDevice[] = [];
  const rules: OciDeviceCgroup[] = [];
  const add = (d: Omit<OciDevice, 'path'>, path: string) => {
    devices.push({ type: d.type, path, major: d.major, minor: d.minor, fileMode: d.fileMode!, uid: d.uid!, gid: d.gid! });
    rules.push(rule(d.type, d.major, d.minor, perms));
  };
  let reason = 'not a device node';
  try {
    const d = await deviceAt(resolved);
    if (d) {
      add(d, inContainer);
      return { devices, rules };
    }
    if ((await stat(resolved)).isDirectory()) {
      const walk = async (dir: string): Promise<void> => {
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const e of entries) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else {
            const child = await deviceAt(p).catch(() => undefined);
            if (child) add(child, p.replace(resolved, inContainer));
          }
        }
      };
      await walk(resolved);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reason = e.code === 'ENOENT' ? 'no such file or directory' : e.message;
  }
  if (devices.length > 0) return { devices, rules };
  throw new InvalidParameter(`error gathering device information while adding custom device ${JSON.stringify(m.PathOnHost)}: ${reason}`);
}

const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every char and block device under /dev of the host, for privileged containers (runc's HostDevices). */
export async function hostDevices(dir = '/dev'): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...(await hostDevices(p)));
      continue;
    }
    if (e.name === 'console') continue;
    const d = await deviceAt(p).catch(() => undefined);
    if (d) out.push({ ...d, path: p } as OciDevice);
  }
  return out;
}

const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule` entries, e.g. "c 42:* rmw". */
export function deviceCgroupRules(rules: readonly string[] | null | undefined): OciDeviceCgroup[] {
  return (rules ?? []).map((r) => {
    const m = CGROUP_RULE.exec(r);
    if (!m) throw new InvalidParameter(`invalid device cgroup rule format: '${r}'`);
    return rule(m[1]!, m[2] === '*' ? undefined : Number(m[2]), m[3] === '*' ? undefined : Number(m[3]), m[4]);
  });
}
