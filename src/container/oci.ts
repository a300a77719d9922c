import { readFile, lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameter } from '../lib/errors.js';
import type { Container } from './container.js';

/**
 * The OCI runtime spec of a container, as dockerd 20.10's oci_linux.go builds it for the
 * parts this slice covers: process (args, env, user, cwd, terminal, capabilities, rlimits),
 * the standard mounts and the three files bind-mounted from the container directory,
 * namespaces (a new network namespace unless --network host), masked and read-only /proc
 * paths, the default device rules and the basic resources.
 */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const ALL_CAPS = [
  'CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ', 'CAP_AUDIT_WRITE', 'CAP_BLOCK_SUSPEND', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_KILL', 'CAP_LEASE', 'CAP_LINUX_IMMUTABLE', 'CAP_MAC_ADMIN', 'CAP_MAC_OVERRIDE', 'CAP_MKNOD', 'CAP_NET_ADMIN',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_RAW', 'CAP_PERFMON', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP',
  'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE', 'CAP_SYS_NICE', 'CAP_SYS_PACCT',
  'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
];

const MASKED = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SpecOptions {
  initPath: string;
  cgroupParent: string;
  defaultUlimits: Array<{ Name: string; Soft: number; Hard: number }>;
}

function capsOf(c: Container): string[] {
  if (c.HostConfig.Privileged) return ALL_CAPS;
  const norm = (n: string) => {
    const up = n.toUpperCase();
    const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
    if (up !== 'ALL' && !ALL_CAPS.includes(cap)) throw new InvalidParameter(`unknown capability: "${cap}"`);
    return up === 'ALL' ? 'ALL' : cap;
  };
  const add = (c.HostConfig.CapAdd ?? []).map(norm);
  const drop = (c.HostConfig.CapDrop ?? []).map(norm);
  let caps = add.includes('ALL') ? [...ALL_CAPS] : [...DEFAULT_CAPS, ...add.filter((x) => !DEFAULT_CAPS.includes(x))];
  if (drop.includes('ALL')) caps = add.filter((x) => x !== 'ALL');
  else caps = caps.filter((x) => !drop.includes(x));
  return caps;
}

/** Reads a file of the container's root without following any symlink out of it. */
async function readInRoot(root: string, path: string): Promise<string | undefined> {
  let rel = path.replace(/^\/+/, '');
  for (let hops = 0; hops < 40; hops++) {
    const parts = rel.split('/');
    let cur = '';
    let redirected = false;
    for (let i = 0; i < parts.length; i++) {
      const next = cur ? `${cur}/${parts[i]}` : parts[i]!;
      const st = await lstat(join(root, next)).catch(() => undefined);
      if (!st) return undefined;
      if (st.isSymbolicLink()) {
        const target = await readlink(join(root, next));
        // Resolved as inside a chroot: '/' is the container's root, '..' stops there.
        const base = target.startsWith('/') ? target : posix.join('/', cur, target);
        rel = posix.join(posix.normalize(base), ...parts.slice(i + 1)).replace(/^\/+/, '');
        redirected = true;
        break;
      }
      cur = next;
    }
    if (!redirected) return readFile(join(root, cur), 'utf8').catch(() => undefined);
  }
  return undefined;
}

/** `user`, `uid`, `user:group`, `uid:gid`, resolved in the container's /etc/passwd and /etc/group. */
export async function resolveUser(root: string, spec: string): Promise<{ uid: number; gid: number; additionalGids: number[] }> {
  if (!spec) spec = '0';
  const [u, g] = spec.split(':') as [string, string | undefined];
  const passwd = ((await readInRoot(root, '/etc/passwd')) ?? '').split('\n').map((l) => l.split(':'));
  const groups = ((await readInRoot(root, '/etc/group')) ?? '').split('\n').map((l) => l.split(':'));
  let uid: number;
  let gid = 0;
  let name = '';
  const entry = passwd.find((p) => p[0] === u) ?? (/^\d+$/.test(u) ? passwd.find((p) => p[2] === u) : undefined);
  if (entry) { uid = Number(entry[2]); gid = Number(entry[3]); name = entry[0]!; }
  else if (/^\d+$/.test(u)) uid = Number(u);
  else throw new InvalidParameter(`unable to find user ${u}: no matching entries in passwd file`);
  if (g !== undefined) {
    const ge = groups.find((x) => x[0] === g);
    if (ge) gid = Number(ge[2]);
    else if (/^\d+$/.test(g)) gid = Number(g);
    else throw new InvalidParameter(`unable to find group ${g}: no matching entries in group file`);
  }
  const additionalGids = name ? groups.filter((x) => (x[3] ?? '').split(',').includes(name)).map((x) => Number(x[2])) : [];
  return { uid, gid, additionalGids: additionalGids.filter((x) => x !== gid) };
}

export async function buildSpec(c: Container, rootfs: string, opts: SpecOptions): Promise<object> {
  const cfg = c.Config;
  const hc = c.HostConfig;
  let args = [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  const mounts: object[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', hc.Privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${hc.ShmSize || 64 * 1024 * 1024}`] },
    { destination: '/etc/resolv.conf', type: 'bind', source: c.ResolvConfPath, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: c.HostnamePath, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: c.HostsPath, options: ['rbind', 'rprivate'] },
  ];
  if (hc.Init) {
    mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: opts.initPath, options: ['bind', 'ro'] });
    args = ['/sbin/docker-init', '--', ...args];
  }
  const env = [...(cfg.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  env.unshift(`HOSTNAME=${cfg.Hostname}`);
  if (cfg.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const user = await resolveUser(rootfs, cfg.User ?? '');
  const caps = capsOf(c);
  const ulimits = new Map<string, { Soft: number; Hard: number }>();
  for (const u of [...opts.defaultUlimits, ...(hc.Ulimits ?? [])]) ulimits.set(u.Name, u);
  const ns = ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  if (hc.NetworkMode !== 'host') ns.push({ type: 'network' });
  const memory: Record<string, number | boolean> = {};
  if (hc.Memory) memory.limit = hc.Memory;
  if (hc.MemoryReservation) memory.reservation = hc.MemoryReservation;
  if (hc.MemorySwap) memory.swap = hc.MemorySwap;
  else if (hc.Memory) memory.swap = hc.Memory * 2;
  if (hc.OomKillDisable) memory.disableOOMKiller = true;
  const cpu: Record<string, number | string> = {};
  if (hc.CpuShares) cpu.shares = hc.CpuShares;
  if (hc.NanoCpus) { cpu.period = 100000; cpu.quota = Math.round((hc.NanoCpus * 100000) / 1e9); }
  if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  const dev = (type: string, major: number, minor: number) => ({ allow: true, type, major, minor, access: 'rwm' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: !!cfg.Tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args,
      env,
      cwd: cfg.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [...ulimits].map(([name, u]) => ({ type: `RLIMIT_${name.toUpperCase()}`, hard: u.Hard, soft: u.Soft })),
      ...(hc.OomScoreAdj ? { oomScoreAdj: hc.OomScoreAdj } : {}),
      noNewPrivileges: (hc.SecurityOpt ?? []).some((o) => /^no-new-privileges(=true|:true)?$/.test(o)),
    },
    root: { path: rootfs, readonly: !!hc.ReadonlyRootfs },
    ...(hc.NetworkMode !== 'host' ? { hostname: cfg.Hostname } : {}),
    mounts,
    linux: {
      namespaces: ns,
      ...(hc.Sysctls ? { sysctl: hc.Sysctls } : {}),
      resources: {
        devices: hc.Privileged ? [{ allow: true, access: 'rwm' }] : [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', access: 'm' },
          dev('c', 1, 3), dev('c', 1, 5), dev('c', 1, 7), dev('c', 1, 8), dev('c', 1, 9), dev('c', 5, 0), dev('c', 5, 1),
          dev('c', 5, 2), dev('c', 10, 200), { allow: true, type: 'c', major: 136, access: 'rwm' },
        ],
        ...(Object.keys(memory).length ? { memory } : {}),
        ...(Object.keys(cpu).length ? { cpu } : {}),
        ...(hc.PidsLimit && hc.PidsLimit > 0 ? { pids: { limit: hc.PidsLimit } } : {}),
        ...(hc.BlkioWeight ? { blockIO: { weight: hc.BlkioWeight } } : {}),
      },
      cgroupsPath: `${opts.cgroupParent || '/berth'}/${c.ID}`,
      ...(hc.Privileged ? {} : { maskedPaths: MASKED, readonlyPaths: READONLY }),
    },
  };
}
