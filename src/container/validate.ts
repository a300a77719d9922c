/**
 * Validation of a container's Config and HostConfig at create (and update), as dockerd 20.10's
 * verifyContainerSettings / verifyPlatformContainerSettings / verifyPlatformContainerResources:
 * an invalid setting throws InvalidParameter with dockerd's message; a setting this host cannot
 * honour is dropped from hostConfig (mutated in place) and reported as a warning.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { cpus } from 'node:os';
import { InvalidParameter } from '../lib/errors.js';
import type { ContainerConfig, HostConfig } from '../types/container.js';
import { parseSecurityOpt } from './spec/security-opt.js';
import { signalNumber } from './signals.js';

/** What this host's kernel and cgroups support (dockerd's sysinfo.SysInfo, the part we use). */
export interface HostFacts {
  ncpu: number;
  /** Online CPUs and memory nodes, as the kernel lists them ("0-1", "0"). */
  cpus: string;
  mems: string;
  cgroupVersion: 1 | 2;
  memoryLimit: boolean;
  swapLimit: boolean;
  memoryReservation: boolean;
  kernelMemory: boolean;
  swappiness: boolean;
  oomKillDisable: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuRealtime: boolean;
  cpuset: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioThrottle: boolean;
  pidsLimit: boolean;
  cgroupNamespaces: boolean;
}

const MIN_MEMORY = 6 * 1024 * 1024;
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262144;

function readTrim(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** Reads what the host supports from /sys (cgroup v1, hybrid or v2). */
export function hostFacts(cgroupRoot = '/sys/fs/cgroup'): HostFacts {
  const ncpu = cpus().length || 1;
  const cpuList = readTrim('/sys/devices/system/cpu/online', `0-${ncpu - 1}`);
  const memList = readTrim('/sys/devices/system/node/online', '0');
  const v2 = existsSync(`${cgroupRoot}/cgroup.controllers`);
  const has = (p: string) => existsSync(`${cgroupRoot}/${p}`);
  const cgroupNamespaces = existsSync('/proc/self/ns/cgroup');
  if (v2) {
    const controllers = readTrim(`${cgroupRoot}/cgroup.controllers`, '').split(/\s+/);
    const c = (n: string) => controllers.includes(n);
    return {
      ncpu, cpus: cpuList, mems: memList, cgroupVersion: 2,
      memoryLimit: c('memory'),
      // swap accounting: memory.swap.max exists in a child cgroup only; the root has memory.swap.current
      swapLimit: c('memory') && (has('memory.swap.current') || has('system.slice/memory.swap.max')),
      memoryReservation: c('memory'),
      kernelMemory: false,
      swappiness: false,
      oomKillDisable: false,
      cpuShares: c('cpu'), cpuCfs: c('cpu'), cpuRealtime: false,
      cpuset: c('cpuset'),
      blkioWeight: c('io'), blkioWeightDevice: c('io'), blkioThrottle: c('io'),
      pidsLimit: c('pids'),
      cgroupNamespaces,
    };
  }
  return {
    ncpu, cpus: cpuList, mems: memList, cgroupVersion: 1,
    memoryLimit: has('memory/memory.limit_in_bytes'),
    swapLimit: has('memory/memory.memsw.limit_in_bytes'),
    memoryReservation: has('memory/memory.soft_limit_in_bytes'),
    kernelMemory: has('memory/memory.kmem.limit_in_bytes'),
    swappiness: has('memory/memory.swappiness'),
    oomKillDisable: has('memory/memory.oom_control'),
    cpuShares: has('cpu/cpu.shares'),
    cpuCfs: has('cpu/cpu.cfs_quota_us'),
    cpuRealtime: has('cpu/cpu.rt_runtime_us'),
    cpuset: has('cpuset/cpuset.cpus') || has('cpuset/cpus'),
    blkioWeight: has('blkio/blkio.weight') || has('blkio/blkio.bfq.weight'),
    blkioWeightDevice: has('blkio/blkio.weight_device') || has('blkio/blkio.bfq.weight_device'),
    blkioThrottle: has('blkio/blkio.throttle.read_bps_device'),
    pidsLimit: has('pids'),
    cgroupNamespaces,
  };
}

/** Go's parsers.ParseUintList: "0-2,4" → {0,1,2,4}; throws on a bad format. */
export function parseUintList(val: string): Set<number> {
  const out = new Set<number>();
  if (val === '') return out;
  for (const part of val.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid format: ${val}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`invalid format: ${val}`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return out;
}

function listAvailable(requested: string, available: string, what: string): boolean {
  let req: Set<number>;
  try {
    req = parseUintList(requested);
  } catch (err) {
    throw new InvalidParameter(`Invalid value ${requested} for cpuset ${what}: ${(err as Error).message}`);
  }
  const avail = parseUintList(available);
  for (const n of req) if (!avail.has(n)) return false;
  return true;
}

type Dev = unknown[] | null | undefined;
const nonEmpty = (d: Dev) => Array.isArray(d) && d.length > 0;

/** verifyPlatformContainerResources. Mutates `r` to drop what the host cannot do. */
function verifyResources(r: HostConfig, host: HostFacts, update: boolean, warnings: string[]): void {
  const memory = r.Memory ?? 0;
  // memory
  if (memory !== 0 && memory < MIN_MEMORY) throw new InvalidParameter('Minimum memory limit allowed is 6MB');
  if (memory > 0 && !host.memoryLimit) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0;
    r.MemorySwap = -1;
  }
  if ((r.Memory ?? 0) > 0 && r.MemorySwap !== -1 && !host.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  const mem = r.Memory ?? 0;
  const swap = r.MemorySwap ?? 0;
  if (mem > 0 && swap > 0 && swap < mem) {
    throw new InvalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (mem === 0 && swap > 0 && !update) {
    throw new InvalidParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (r.MemorySwappiness != null && r.MemorySwappiness !== -1 && !host.swappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    r.MemorySwappiness = null;
  }
  if (r.MemorySwappiness != null) {
    const s = r.MemorySwappiness;
    if (s !== -1 && (s < 0 || s > 100)) {
      throw new InvalidParameter(`Invalid value: ${s}, valid memory swappiness range is 0-100`);
    }
  }
  if ((r.MemoryReservation ?? 0) > 0 && !host.memoryReservation) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  const resv = r.MemoryReservation ?? 0;
  if (resv > 0 && resv < MIN_MEMORY) throw new InvalidParameter('Minimum memory reservation allowed is 6MB');
  if (mem > 0 && resv > 0 && mem < resv) {
    throw new InvalidParameter('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if ((r.KernelMemory ?? 0) > 0) {
    // not on cgroup v2, and deprecated on v1 since kernel 5.4: dropped where the file is missing
    if (!host.kernelMemory) {
      warnings.push('Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
      r.KernelMemory = 0;
    }
    const kmem = r.KernelMemory ?? 0;
    if (kmem > 0 && kmem < MIN_MEMORY) throw new InvalidParameter('Minimum kernel memory limit allowed is 6MB');
  }
  if (r.OomKillDisable != null && !host.oomKillDisable) {
    if (r.OomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.OomKillDisable = null;
  }
  if (r.OomKillDisable && (r.Memory ?? 0) === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  // pids: 0 or negative is "unlimited"
  if (r.PidsLimit != null && !host.pidsLimit) {
    if (r.PidsLimit > 0) {
      warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    }
    r.PidsLimit = null;
  }

  // cpu
  const nano = r.NanoCpus ?? 0;
  if (nano > 0 && (r.CpuPeriod ?? 0) > 0) {
    throw new InvalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (nano > 0 && (r.CpuQuota ?? 0) > 0) {
    throw new InvalidParameter('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  if (nano > 0 && !host.cpuCfs) {
    throw new InvalidParameter('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  }
  if (nano < 0 || nano > host.ncpu * 1e9) {
    throw new InvalidParameter(`Range of CPUs is from 0.01 to ${host.ncpu}.00, as there are only ${host.ncpu} CPUs available`);
  }
  if ((r.CpuShares ?? 0) > 0 && !host.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  const shares = r.CpuShares ?? 0;
  if (shares > 0 && shares < MIN_CPU_SHARES) {
    warnings.push(`Changing requested CPUShares of ${shares} to minimum allowed of ${MIN_CPU_SHARES}`);
    r.CpuShares = MIN_CPU_SHARES;
  } else if (shares > MAX_CPU_SHARES) {
    warnings.push(`Changing requested CPUShares of ${shares} to maximum allowed of ${MAX_CPU_SHARES}`);
    r.CpuShares = MAX_CPU_SHARES;
  }
  if (((r.CpuPeriod ?? 0) !== 0 || (r.CpuQuota ?? 0) !== 0) && !host.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0;
    r.CpuQuota = 0;
  }
  const period = r.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) {
    throw new InvalidParameter('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = r.CpuQuota ?? 0;
  if (quota > 0 && quota < 1000) throw new InvalidParameter('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if ((r.CpuPercent as number | undefined ?? 0) > 0) {
    warnings.push('linux does not support CPU percent. Percent discarded.');
    r.CpuPercent = 0;
  }
  const rtp = r.CpuRealtimePeriod ?? 0;
  const rtr = r.CpuRealtimeRuntime ?? 0;
  if (rtp > 0 && !host.cpuRealtime) throw new InvalidParameter('Your kernel does not support cgroup cpu real-time period');
  if (rtr > 0 && !host.cpuRealtime) throw new InvalidParameter('Your kernel does not support cgroup cpu real-time runtime');
  if (rtp !== 0 && rtr !== 0 && rtr > rtp) {
    throw new InvalidParameter('cpu real-time runtime cannot be higher than cpu real-time period');
  }

  // cpuset
  if ((r.CpusetCpus || r.CpusetMems) && !host.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = '';
    r.CpusetMems = '';
  }
  const reqCpus = r.CpusetCpus ?? '';
  if (!listAvailable(reqCpus, host.cpus, 'cpus')) {
    throw new InvalidParameter(`Requested CPUs are not available - requested ${reqCpus}, available: ${host.cpus}`);
  }
  const reqMems = r.CpusetMems ?? '';
  if (!listAvailable(reqMems, host.mems, 'mems')) {
    throw new InvalidParameter(`Requested memory nodes are not available - requested ${reqMems}, available: ${host.mems}`);
  }

  // blkio
  if ((r.BlkioWeight ?? 0) > 0 && !host.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  const bw = r.BlkioWeight ?? 0;
  if (bw > 0 && (bw < 10 || bw > 1000)) throw new InvalidParameter('Range of blkio weight is from 10 to 1000');
  if ((r.IOMaximumBandwidth as number | undefined ?? 0) !== 0 || (r.IOMaximumIOps as number | undefined ?? 0) !== 0) {
    throw new InvalidParameter('Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps');
  }
  const weightDev = r.BlkioWeightDevice as Array<{ Path: string; Weight: number }> | null | undefined;
  if (nonEmpty(weightDev) && !host.blkioWeightDevice) {
    warnings.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
    r.BlkioWeightDevice = [];
  }
  for (const d of (r.BlkioWeightDevice as typeof weightDev) ?? []) {
    if (!d.Path?.startsWith('/dev/')) throw new InvalidParameter(`invalid weight device: ${d.Path}`);
    if (d.Weight !== 0 && (d.Weight < 10 || d.Weight > 1000)) {
      throw new InvalidParameter(`invalid weight for device: ${d.Path}:${d.Weight}`);
    }
  }
  const throttles: Array<[string, string]> = [
    ['BlkioDeviceReadBps', 'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.'],
    ['BlkioDeviceWriteBps', 'Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.'],
    ['BlkioDeviceReadIOps', 'Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.'],
    ['BlkioDeviceWriteIOps', 'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.'],
  ];
  for (const [key, msg] of throttles) {
    const list = r[key] as Array<{ Path: string; Rate: number }> | null | undefined;
    if (nonEmpty(list) && !host.blkioThrottle) {
      warnings.push(msg);
      r[key] = [];
      continue;
    }
    for (const d of list ?? []) {
      if (!d.Path?.startsWith('/dev/')) throw new InvalidParameter(`invalid device path: ${d.Path}`);
      if (!Number.isInteger(d.Rate) || d.Rate < 0) throw new InvalidParameter(`invalid rate for device: ${d.Path}:${d.Rate}`);
    }
  }
}

const SYSCTL_PREFIX = ['kernel.msg', 'kernel.shm', 'fs.mqueue.'];

/** The namespaced sysctls a container may set (the list dockerd's ValidateSysctl knows). */
function validateSysctls(sysctls: Record<string, string> | null | undefined, networkMode: string): void {
  for (const key of Object.keys(sysctls ?? {})) {
    if (key === 'kernel.sem' || SYSCTL_PREFIX.some((p) => key.startsWith(p))) continue;
    if (key.startsWith('net.')) {
      if (networkMode === 'host') throw new InvalidParameter(`sysctl '${key}' is not allowed in host network namespace`);
      continue;
    }
    throw new InvalidParameter(`sysctl '${key}' is not whitelisted`);
  }
}

/** nat.SplitProtoPort. */
function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts[0].length === 0) return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (parts[1].length === 0) return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

/** nat.ParsePortRangeToInt, returning false on error. "" is port 0. */
function portRangeOk(s: string): boolean {
  if (s === '') return true;
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return false;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  return a <= 65535 && b <= 65535 && b >= a;
}

function validatePort(key: string): void {
  const [proto, port] = splitProtoPort(key);
  if (!portRangeOk(port)) throw new InvalidParameter(`invalid port specification: ${JSON.stringify(port)}`);
  if (proto !== '' && !['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) {
    throw new InvalidParameter(`Invalid proto: ${proto}`);
  }
}

function validatePortBindings(hc: HostConfig): void {
  for (const [key, bindings] of Object.entries(hc.PortBindings ?? {})) {
    validatePort(key);
    for (const b of bindings ?? []) {
      const [, hostPort] = splitProtoPort(b.HostPort ?? '');
      if (!portRangeOk(hostPort)) {
        throw new InvalidParameter(`invalid port specification: ${JSON.stringify(b.HostPort)}`);
      }
      if (b.HostIp && isIP(b.HostIp) === 0) throw new InvalidParameter(`invalid IP address: ${b.HostIp}`);
    }
  }
}

export function validateRestartPolicy(p: { Name: string; MaximumRetryCount: number } | undefined): void {
  if (!p) return;
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if ((p.MaximumRetryCount ?? 0) !== 0) {
        throw new InvalidParameter(`maximum retry count cannot be used with restart policy '${p.Name}'`);
      }
      return;
    case 'on-failure':
      if ((p.MaximumRetryCount ?? 0) < 0) throw new InvalidParameter('maximum retry count cannot be negative');
      return;
    case '':
      return;
    default:
      throw new InvalidParameter(`invalid restart policy '${p.Name}'`);
  }
}

/** Go's time.Duration String for the one value we print. */
const MIN_DURATION_NS = 1_000_000;

function validateHealthcheck(hc: ContainerConfig['Healthcheck']): void {
  if (!hc) return;
  const check = (v: number | undefined, name: string) => {
    if (v && v !== 0 && v < MIN_DURATION_NS) throw new InvalidParameter(`${name} in Healthcheck cannot be less than 1ms`);
  };
  check(hc.Interval, 'Interval');
  check(hc.Timeout, 'Timeout');
  if ((hc.Retries ?? 0) < 0) throw new InvalidParameter('Retries in Healthcheck cannot be negative');
  check(hc.StartPeriod, 'StartPeriod');
}

const ULIMITS = new Set([
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack',
]);

function isContainerRef(mode: string): boolean {
  return mode.startsWith('container:') && mode.length > 'container:'.length;
}

function validateModes(hc: HostConfig): void {
  const ipc = hc.IpcMode ?? '';
  if (!['', 'host', 'private', 'shareable', 'none'].includes(ipc) && !isContainerRef(ipc)) {
    throw new InvalidParameter(`invalid IPC mode: ${ipc}`);
  }
  const pid = hc.PidMode ?? '';
  if (!['', 'host'].includes(pid) && !isContainerRef(pid)) throw new InvalidParameter(`invalid PID mode: ${pid}`);
  const uts = hc.UTSMode ?? '';
  if (!['', 'host'].includes(uts)) throw new InvalidParameter(`invalid UTS mode: ${uts}`);
  const cgns = hc.CgroupnsMode ?? '';
  if (!['', 'host', 'private'].includes(cgns)) throw new InvalidParameter(`invalid cgroup namespace mode: ${cgns}`);
}

/**
 * dockerd's verifyContainerSettings: Config first, then HostConfig, then the platform's
 * resource checks. Returns the warnings for the create (or update) response; throws
 * InvalidParameter. `hostConfig` is adjusted in place (unsupported values dropped, CPU shares
 * clamped).
 */
export function verifyContainerSettings(
  hostConfig: HostConfig | null | undefined,
  config: ContainerConfig | null | undefined,
  host: HostFacts,
  update = false,
): string[] {
  if (config) {
    if (config.WorkingDir && !config.WorkingDir.startsWith('/')) {
      throw new InvalidParameter(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
    }
    const stopSignal = (config as { StopSignal?: string }).StopSignal;
    if (stopSignal) {
      try {
        signalNumber(stopSignal);
      } catch {
        throw new InvalidParameter(`Invalid signal: ${stopSignal}`);
      }
    }
    for (const env of (config as { Env?: string[] | null }).Env ?? []) {
      if (env.split('=', 1)[0] === '') throw new InvalidParameter(`invalid environment variable: ${env}`);
    }
    validateHealthcheck(config.Healthcheck);
    for (const key of Object.keys(config.ExposedPorts ?? {})) validatePort(key);
    const stopTimeout = (config as { StopTimeout?: number | null }).StopTimeout;
    if (stopTimeout != null && (!Number.isInteger(stopTimeout) || stopTimeout < -1)) {
      throw new InvalidParameter(`invalid stop timeout: ${stopTimeout}`);
    }
  }
  if (!hostConfig) return [];

  const restart = hostConfig.RestartPolicy;
  if (hostConfig.AutoRemove && restart && restart.Name !== '' && restart.Name !== 'no') {
    throw new InvalidParameter("can't create 'AutoRemove' container with restart policy");
  }
  for (const h of hostConfig.ExtraHosts ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new InvalidParameter(`bad format for add-host: ${JSON.stringify(h)}`);
    const ip = h.slice(i + 1);
    if (ip !== 'host-gateway' && isIP(ip) === 0) throw new InvalidParameter(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
  validatePortBindings(hostConfig);
  validateRestartPolicy(restart);
  if (hostConfig.Isolation && hostConfig.Isolation !== 'default') {
    throw new InvalidParameter(`invalid isolation '${hostConfig.Isolation}' on linux`);
  }
  parseSecurityOpt(hostConfig.SecurityOpt);

  const warnings: string[] = [];
  verifyResources(hostConfig, host, update, warnings);

  if ((hostConfig.ShmSize ?? 0) < 0) throw new InvalidParameter('SHM size can not be less than 0');
  const oom = hostConfig.OomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) {
    throw new InvalidParameter(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  }
  const net = hostConfig.NetworkMode ?? '';
  if (net === 'host' && Object.keys(hostConfig.PortBindings ?? {}).length > 0) {
    warnings.push('Published ports are discarded when using host network mode');
  }
  // As the Linux mount parser's ValidateTmpfsMountDestination.
  for (const dest of Object.keys(hostConfig.Tmpfs ?? {})) {
    const p = dest.replaceAll('\\', '/');
    if (p.replace(/\/+$/, '') === '' && p !== '') throw new InvalidParameter(`invalid specification: destination can't be '/'`);
    if (!p.startsWith('/')) throw new InvalidParameter(`invalid mount path: '${p}' mount path must be absolute`);
  }
  validateModes(hostConfig);
  if (hostConfig.CgroupnsMode === 'private' && !host.cgroupNamespaces) {
    warnings.push('Your kernel does not support cgroup namespaces.  Cgroup namespace setting discarded.');
  }
  for (const u of hostConfig.Ulimits ?? []) {
    if (!ULIMITS.has(u.Name)) throw new InvalidParameter(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard) {
      throw new InvalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    }
  }
  validateSysctls(hostConfig.Sysctls, net);
  return warnings;
}
