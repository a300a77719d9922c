import { access, readFile } from 'node:fs/promises';
import { InvalidParameter, SystemError } from '../../lib/errors.js';
import type { ContainerConfig, HostConfig } from '../../types/container.js';
import { tweakCapabilities } from './caps.js';
import { defaultDeviceRules, deviceCgroupRules, devicesFromPath, hostDevices } from './devices.js';
import { defaultProfile } from './seccomp-default.js';
import { loadProfile, toOci, type SeccompHost, type SeccompProfile } from './seccomp.js';
import { parseSecurityOpt } from './security-opt.js';
import type { OciDevice, OciMount, OciNamespace, OciResources, OciRlimit, OciSpec } from './types.js';
import { resolveUser } from './user.js';

/**
 * What buildSpec needs to know of one container: its merged Config and HostConfig as stored,
 * and the host-side paths other subsystems prepared (root filesystem, the three network files,
 * the network namespace).
 */
export interface SpecInput {
  /** 64-hex container ID. */
  id: string;
  /** Absolute host path of the mounted root filesystem. */
  rootfs: string;
  /** Overrides HostConfig.ReadonlyRootfs when given. */
  readonlyRootfs?: boolean;
  /** Docker's container Config, already merged with the image's. */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Host files bind-mounted at /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  files: { hosts: string; hostname: string; resolvConf: string };
  /** Network namespace to join (bridge networks, container:<id>); none means a new one, except for 'host'. */
  netnsPath?: string;
  /** IPC / PID namespaces to join for IpcMode / PidMode 'container:<id>'. */
  ipcNsPath?: string;
  pidNsPath?: string;
  /** Host directory mounted at /dev/shm for 'shareable' and 'container:' IPC modes. */
  shmPath?: string;
  /** Host path of the init binary (docker-init / tini) for --init. */
  initPath?: string;
  /** The daemon's `init` setting, used when HostConfig.Init is null. */
  daemonInit?: boolean;
  /** e.g. '/berth/<id>' (cgroupfs driver). */
  cgroupsPath: string;
  /** The daemon's default-ulimits; the container's own win on the same name. */
  defaultUlimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  /** Volumes, binds and tmpfs mounts already in OCI form; they replace defaults at the same destination. */
  mounts?: OciMount[];
  /** The daemon's --seccomp-profile, replacing the built-in default profile. */
  seccompProfile?: SeccompProfile;
  /** Legacy link variables (ALIAS_PORT_..., ALIAS_NAME, ALIAS_ENV_...), under the container's own. */
  linkEnv?: string[];
  /** Host facts for seccomp filtering; this machine's by default (tests pin them). */
  seccompHost?: SeccompHost;
}

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
const INIT_IN_CONTAINER = '/sbin/docker-init';

/** Entrypoint then Cmd; Cmd alone without an entrypoint. */
export function commandOf(config: Pick<ContainerConfig, 'Entrypoint' | 'Cmd'>): string[] {
  const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (args.length === 0) throw new InvalidParameter('No command specified');
  return args;
}

/** container.ReplaceOrAppendEnvValues: KEY=V replaces KEY, a bare KEY unsets it, the rest appends. */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const env: Array<string | undefined> = [...defaults];
  const index = new Map<string, number>();
  env.forEach((e, i) => index.set(e!.slice(0, e!.indexOf('=')), i));
  for (const v of overrides) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      const i = index.get(v);
      if (i !== undefined) env[i] = undefined;
      continue;
    }
    const i = index.get(v.slice(0, eq));
    if (i !== undefined) env[i] = v;
    else env.push(v);
  }
  return env.filter((e): e is string => e !== undefined && e !== '');
}

/** The process environment as container.CreateDaemonEnvironment builds it. */
export function environmentOf(config: Pick<ContainerConfig, 'Env' | 'Hostname' | 'Tty'>, linkEnv: string[] = []): string[] {
  const defaults = [DEFAULT_PATH_ENV, `HOSTNAME=${config.Hostname ?? ''}`];
  if (config.Tty) defaults.push('TERM=xterm');
  defaults.push(...linkEnv);
  return replaceOrAppendEnv(defaults, config.Env ?? []);
}

const isContainerMode = (m: string | undefined) => (m ?? '').startsWith('container:');

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function apparmorEnabled(): Promise<boolean> {
  const v = await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => '');
  return v.startsWith('Y');
}

/** Go's sort.Sort over mounts by path depth; stable, as Go's insertion sort is for short lists. */
function byDepth(a: OciMount, b: OciMount): number {
  const depth = (p: string) => p.split('/').filter((x) => x !== '').length;
  return depth(a.destination) - depth(b.destination);
}

function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

export function resourcesOf(hc: HostConfig): OciResources {
  const memory: NonNullable<OciResources['memory']> = {};
  if ((hc.Memory ?? 0) > 0) memory.limit = hc.Memory!;
  if ((hc.MemoryReservation ?? 0) > 0) memory.reservation = hc.MemoryReservation!;
  if ((hc.MemorySwap ?? 0) > 0) memory.swap = hc.MemorySwap!;
  // -1 means "the kernel's default" and is left out, as runc would skip it.
  if (hc.MemorySwappiness !== undefined && hc.MemorySwappiness !== null && hc.MemorySwappiness >= 0) {
    memory.swappiness = hc.MemorySwappiness;
  }
  if (hc.OomKillDisable !== undefined && hc.OomKillDisable !== null) memory.disableOOMKiller = hc.OomKillDisable;
  if (hc.KernelMemory) memory.kernel = hc.KernelMemory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  const shares = hc.CpuShares ?? 0;
  if (shares < 0) throw new InvalidParameter('shares: invalid argument');
  cpu.shares = shares;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if ((hc.NanoCpus ?? 0) > 0) {
    const period = 100000;
    cpu.period = period;
    cpu.quota = Number((BigInt(Math.trunc(hc.NanoCpus!)) * BigInt(period)) / 1_000_000_000n);
  }
  if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  if (hc.CpuRealtimePeriod) cpu.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpuRealtimeRuntime) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;

  const res: OciResources = { memory, cpu, blockIO: { weight: hc.BlkioWeight ?? 0 } };
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null) res.pids = { limit: hc.PidsLimit > 0 ? hc.PidsLimit : -1 };
  return res;
}

function rlimitsOf(hc: HostConfig, defaults: SpecInput['defaultUlimits']): OciRlimit[] {
  const own = hc.Ulimits ?? [];
  const all = [...own, ...(defaults ?? []).filter((d) => !own.some((u) => u.Name === d.Name))];
  return all.map((u) => {
    // A JS number cannot carry RLIM_INFINITY (2^64-1) through JSON.
    if (u.Soft < 0 || u.Hard < 0) throw new InvalidParameter(`negative ulimit values are not supported: ${u.Name}=${u.Soft}:${u.Hard}`);
    return { type: `RLIMIT_${u.Name.toUpperCase()}`, hard: u.Hard, soft: u.Soft };
  });
}

function setNamespace(list: OciNamespace[], ns: OciNamespace): void {
  const i = list.findIndex((n) => n.type === ns.type);
  if (i >= 0) list[i] = ns;
  else list.push(ns);
}

function namespacesOf(input: SpecInput): OciNamespace[] {
  const hc = input.hostConfig;
  const ns: OciNamespace[] = [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }];
  const remove = (type: OciNamespace['type']) => ns.splice(ns.findIndex((n) => n.type === type), 1);

  const net = hc.NetworkMode ?? '';
  if (net === 'host') remove('network');
  else if (input.netnsPath) setNamespace(ns, { type: 'network', path: input.netnsPath });
  else if (isContainerMode(net)) throw new InvalidParameter(`cannot join network of container ${net.slice(10)}: no namespace path`);

  const ipc = hc.IpcMode ?? '';
  if (ipc === 'host') remove('ipc');
  else if (isContainerMode(ipc)) {
    if (!input.ipcNsPath) throw new InvalidParameter(`cannot join IPC of container ${ipc.slice(10)}: no namespace path`);
    setNamespace(ns, { type: 'ipc', path: input.ipcNsPath });
  } else if (!['', 'private', 'shareable', 'none'].includes(ipc)) {
    throw new InvalidParameter(`Invalid IPC mode: ${ipc}`);
  }

  const pid = hc.PidMode ?? '';
  if (pid === 'host') remove('pid');
  else if (isContainerMode(pid)) {
    if (!input.pidNsPath) throw new InvalidParameter(`cannot join PID of container ${pid.slice(10)}: no namespace path`);
    setNamespace(ns, { type: 'pid', path: input.pidNsPath });
  }

  if (hc.UTSMode === 'host') remove('uts');
  if (hc.CgroupnsMode === 'private') setNamespace(ns, { type: 'cgroup' });
  else if (hc.CgroupnsMode && hc.CgroupnsMode !== 'host') throw new InvalidParameter(`invalid cgroup namespace mode: ${hc.CgroupnsMode}`);
  return ns;
}

const withoutRo = (m: OciMount): OciMount => ({ ...m, options: (m.options ?? []).filter((o) => o !== 'ro') });

/** The OCI runtime spec of a container, built the way dockerd 20.10's createSpec does. */
export async function buildSpec(input: SpecInput): Promise<OciSpec> {
  const cfg = input.config;
  const hc = input.hostConfig;
  const privileged = !!hc.Privileged;
  const readonly = input.readonlyRootfs ?? !!hc.ReadonlyRootfs;
  const security = parseSecurityOpt(hc.SecurityOpt);
  const pidPrivate = hc.PidMode !== 'host' && !isContainerMode(hc.PidMode);
  const netPrivate = hc.NetworkMode !== 'host' && !isContainerMode(hc.NetworkMode);

  // Common options: command, environment, hostname, domainname and the default sysctls.
  let args = commandOf(cfg);
  const mounts = defaultMounts();
  const useInit = hc.Init === true || ((hc.Init === undefined || hc.Init === null) && !!input.daemonInit);
  if (pidPrivate && useInit) {
    if (!input.initPath) throw new SystemError('exec: "docker-init": executable file not found in $PATH');
    args = [INIT_IN_CONTAINER, '--', ...args];
    mounts.push({ destination: INIT_IN_CONTAINER, type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
  }
  const sysctl: Record<string, string> = {};
  if (cfg.Domainname) sysctl['kernel.domainname'] = cfg.Domainname;
  if (netPrivate) {
    if (await exists('/proc/sys/net/ipv4/ping_group_range')) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
    if (await exists('/proc/sys/net/ipv4/ip_unprivileged_port_start')) sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  Object.assign(sysctl, hc.Sysctls ?? {});

  // Devices.
  let devices: OciDevice[] = [];
  let deviceRules = defaultDeviceRules();
  if (privileged) {
    devices = await hostDevices();
    for (const m of hc.Devices ?? []) {
      if (m.PathOnHost === m.PathInContainer) continue; // already there through /dev
      devices.push(...(await devicesFromPath({ ...m, CgroupPermissions: 'rwm' })).devices);
    }
    deviceRules = [{ allow: true, access: 'rwm' }];
  } else {
    for (const m of hc.Devices ?? []) {
      const d = await devicesFromPath(m);
      devices.push(...d.devices);
      deviceRules.push(...d.rules);
    }
    deviceRules.push(...deviceCgroupRules(hc.DeviceCgroupRules));
  }
  const resources = resourcesOf(hc);
  resources.devices = deviceRules;

  const user = await resolveUser(input.rootfs, cfg.User ?? '', hc.GroupAdd ?? []);
  const namespaces = namespacesOf(input);
  const caps = tweakCapabilities(hc.CapAdd, hc.CapDrop, privileged);
  // As execve would: a non-root user starts with empty effective and permitted sets.
  const capabilities = user.uid === 0 ? { bounding: caps, effective: caps, permitted: caps } : { bounding: caps };

  let seccomp;
  if (security.seccompProfile !== 'unconfined' && !privileged) {
    const profile = security.seccompProfile
      ? await loadProfile(security.seccompProfile)
      : input.seccompProfile ?? defaultProfile;
    seccomp = toOci(profile, caps, input.seccompHost);
  }

  // Mounts: user mounts (network files, shm, volumes) replace defaults at their destination.
  const ipc = hc.IpcMode ?? '';
  const userMounts: OciMount[] = [...(input.mounts ?? [])];
  const taken = new Set(userMounts.map((m) => m.destination));
  const fileOpts = readonly ? ['rbind', 'ro', 'rprivate'] : ['rbind', 'rprivate'];
  for (const [destination, source] of [
    ['/etc/resolv.conf', input.files.resolvConf],
    ['/etc/hostname', input.files.hostname],
    ['/etc/hosts', input.files.hosts],
  ] as const) {
    if (!taken.has(destination)) userMounts.push({ destination, type: 'bind', source, options: [...fileOpts] });
  }
  if (input.shmPath && ipc !== 'private' && ipc !== '' && ipc !== 'none' && !taken.has('/dev/shm')) {
    userMounts.push({ destination: '/dev/shm', type: 'bind', source: input.shmPath, options: ['rbind', 'rprivate'] });
  }
  userMounts.sort(byDepth);
  const userDest = new Set(userMounts.map((m) => m.destination));
  const devMounted = userDest.has('/dev');
  const shmSize = hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM_SIZE;
  let finalMounts: OciMount[] = [];
  for (const m of mounts) {
    if (userDest.has(m.destination)) continue;
    if (devMounted && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') {
      if (ipc === 'none') continue;
      m.options = [...m.options!, `size=${shmSize}`];
    }
    finalMounts.push(m);
  }
  finalMounts.push(...userMounts);
  if (readonly) {
    const keep = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);
    finalMounts = finalMounts.map((m) =>
      keep.has(m.destination) || userDest.has(m.destination) || m.options?.includes('ro')
        ? m
        : { ...m, options: [...(m.options ?? []), 'ro'] });
  }
  let maskedPaths: string[] | undefined = [...DEFAULT_MASKED_PATHS];
  let readonlyPaths: string[] | undefined = [...DEFAULT_READONLY_PATHS];
  if (privileged) {
    finalMounts = finalMounts.map((m) => (m.destination === '/sys' || m.type === 'cgroup' ? withoutRo(m) : m));
    maskedPaths = undefined;
    readonlyPaths = undefined;
  }
  if (hc.MaskedPaths) maskedPaths = [...hc.MaskedPaths];
  if (hc.ReadonlyPaths) readonlyPaths = [...hc.ReadonlyPaths];

  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: !!cfg.Tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args,
      env: environmentOf(cfg, input.linkEnv),
      cwd: cfg.WorkingDir || '/',
      capabilities,
      oomScoreAdj: hc.OomScoreAdj ?? 0,
    },
    root: { path: input.rootfs, readonly },
    mounts: finalMounts,
    linux: {
      namespaces,
      resources,
      cgroupsPath: input.cgroupsPath,
    },
  };
  const rlimits = rlimitsOf(hc, input.defaultUlimits);
  if (rlimits.length) spec.process.rlimits = rlimits;
  if (security.noNewPrivileges) spec.process.noNewPrivileges = true;
  const size = hc.ConsoleSize;
  if (cfg.Tty && Array.isArray(size) && size.length === 2 && (size[0] > 0 || size[1] > 0)) {
    spec.process.consoleSize = { height: size[0], width: size[1] };
  }
  if (security.apparmorProfile && (await apparmorEnabled())) spec.process.apparmorProfile = security.apparmorProfile;
  if (hc.UTSMode !== 'host') spec.hostname = cfg.Hostname ?? '';
  if (devices.length) spec.linux.devices = devices;
  if (Object.keys(sysctl).length) spec.linux.sysctl = sysctl;
  if (seccomp) spec.linux.seccomp = seccomp;
  if (maskedPaths) spec.linux.maskedPaths = maskedPaths;
  if (readonlyPaths) spec.linux.readonlyPaths = readonlyPaths;
  return spec;
}
