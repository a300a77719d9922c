/**
 * One container's resource usage read from its cgroup, in the shape of dockerd 20.10's
 * types.StatsJSON (API 1.41): cgroup v1 (controllers under /sys/fs/cgroup/<controller>/<path>)
 * and v2 (unified, /sys/fs/cgroup/<path>).
 */
import { existsSync, promises as fsp } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface BlkioEntry { major: number; minor: number; op: string; value: number }
export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}
export interface NetworkStats {
  rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number;
  tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number;
}
export interface StatsJSON {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioEntry[] | null;
    io_serviced_recursive: BlkioEntry[] | null;
    io_queue_recursive: BlkioEntry[] | null;
    io_service_time_recursive: BlkioEntry[] | null;
    io_wait_time_recursive: BlkioEntry[] | null;
    io_merged_recursive: BlkioEntry[] | null;
    io_time_recursive: BlkioEntry[] | null;
    sectors_recursive: BlkioEntry[] | null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  name?: string;
  id?: string;
  networks?: Record<string, NetworkStats>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const CLOCK_TICKS = 100; // USER_HZ
const NS = 1e9;

export function emptyCpuStats(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

async function read(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}
async function readNum(path: string): Promise<number | undefined> {
  const s = (await read(path))?.trim();
  if (s === undefined || s === '' || s === 'max') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}
function kv(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Host CPU time in ns from /proc/stat, as dockerd's getSystemCPUUsage (user..softirq). */
export async function systemCpuUsage(): Promise<number> {
  const text = (await read('/proc/stat')) ?? '';
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const parts = line.trim().split(/\s+/).slice(1, 8).map(Number);
  return (parts.reduce((a, b) => a + b, 0) * NS) / CLOCK_TICKS;
}

/** Interfaces in the network namespace of `pid`, lo left out (dockerd lists the endpoints). */
export async function networkStats(pid: number): Promise<Record<string, NetworkStats> | undefined> {
  const text = await read(`/proc/${pid}/net/dev`);
  if (!text) return undefined;
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === 'lo') continue;
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]!,
    };
  }
  return Object.keys(out).length ? out : undefined;
}

function blkioV1(text: string | undefined): BlkioEntry[] | null {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out.length ? out : null;
}

function emptyBlkio(): StatsJSON['blkio_stats'] {
  return {
    io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
    io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
  };
}

export type Sample = Omit<StatsJSON, 'preread' | 'precpu_stats' | 'name' | 'id'>;

/** Reads a cgroup v1 container's stats. */
async function sampleV1(root: string, path: string): Promise<Sample> {
  const c = (ctl: string, file: string) => join(root, ctl, path, file);
  const [usage, percpuText, acctStat, cpuStat, memUsage, memMax, memLimit, memStat, memFail, pidsCur, pidsMax, bytes, ios] = await Promise.all([
    readNum(c('cpuacct', 'cpuacct.usage')), read(c('cpuacct', 'cpuacct.usage_percpu')), read(c('cpuacct', 'cpuacct.stat')),
    read(c('cpu', 'cpu.stat')), readNum(c('memory', 'memory.usage_in_bytes')), readNum(c('memory', 'memory.max_usage_in_bytes')),
    readNum(c('memory', 'memory.limit_in_bytes')), read(c('memory', 'memory.stat')), readNum(c('memory', 'memory.failcnt')),
    readNum(c('pids', 'pids.current')), readNum(c('pids', 'pids.max')),
    read(c('blkio', 'blkio.throttle.io_service_bytes_recursive')), read(c('blkio', 'blkio.throttle.io_serviced_recursive')),
  ]);
  const acct = kv(acctStat);
  const thr = kv(cpuStat);
  const blkio = emptyBlkio();
  blkio.io_service_bytes_recursive = blkioV1(bytes);
  blkio.io_serviced_recursive = blkioV1(ios);
  const host = totalmem();
  return {
    read: new Date().toISOString(),
    pids_stats: { current: pidsCur, ...(pidsMax !== undefined ? { limit: pidsMax } : {}) },
    blkio_stats: blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: {
        total_usage: usage ?? 0,
        percpu_usage: (percpuText ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
        usage_in_kernelmode: ((acct.system ?? 0) * NS) / CLOCK_TICKS,
        usage_in_usermode: ((acct.user ?? 0) * NS) / CLOCK_TICKS,
      },
      system_cpu_usage: await systemCpuUsage(),
      online_cpus: cpus().length,
      throttling_data: { periods: thr.nr_periods ?? 0, throttled_periods: thr.nr_throttled ?? 0, throttled_time: thr.throttled_time ?? 0 },
    },
    memory_stats: {
      usage: memUsage, max_usage: memMax, stats: kv(memStat), failcnt: memFail,
      limit: memLimit === undefined || memLimit > host ? host : memLimit,
    },
  };
}

/** Reads a cgroup v2 container's stats. */
async function sampleV2(root: string, path: string): Promise<Sample> {
  const c = (file: string) => join(root, path, file);
  const [cpuStat, memCur, memMax, memStat, pidsCur, pidsMax, ioStat, events] = await Promise.all([
    read(c('cpu.stat')), readNum(c('memory.current')), readNum(c('memory.max')), read(c('memory.stat')),
    readNum(c('pids.current')), readNum(c('pids.max')), read(c('io.stat')), read(c('memory.events')),
  ]);
  const cpu = kv(cpuStat);
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (ioStat ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const f = Object.fromEntries(pairs.map((p) => p.split('=')).map(([k, v]) => [k, Number(v)]));
    const major = Number(m[1]);
    const minor = Number(m[2]);
    bytes.push({ major, minor, op: 'read', value: f.rbytes ?? 0 }, { major, minor, op: 'write', value: f.wbytes ?? 0 });
    ios.push({ major, minor, op: 'read', value: f.rios ?? 0 }, { major, minor, op: 'write', value: f.wios ?? 0 });
  }
  const blkio = emptyBlkio();
  blkio.io_service_bytes_recursive = bytes.length ? bytes : null;
  blkio.io_serviced_recursive = ios.length ? ios : null;
  const host = totalmem();
  return {
    read: new Date().toISOString(),
    pids_stats: { current: pidsCur, ...(pidsMax !== undefined ? { limit: pidsMax } : {}) },
    blkio_stats: blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: {
        total_usage: (cpu.usage_usec ?? 0) * 1000,
        usage_in_kernelmode: (cpu.system_usec ?? 0) * 1000,
        usage_in_usermode: (cpu.user_usec ?? 0) * 1000,
      },
      system_cpu_usage: await systemCpuUsage(),
      online_cpus: cpus().length,
      throttling_data: { periods: cpu.nr_periods ?? 0, throttled_periods: cpu.nr_throttled ?? 0, throttled_time: (cpu.throttled_usec ?? 0) * 1000 },
    },
    memory_stats: {
      usage: memCur, stats: kv(memStat), failcnt: kv(events).oom,
      limit: memMax === undefined || memMax > host ? host : memMax,
    },
  };
}

/** One reading of the cgroup at `cgroupsPath` (e.g. "/berth/<id>"), v1 or v2 as mounted. */
export async function readCgroupStats(cgroupsPath: string, cgroupRoot = '/sys/fs/cgroup'): Promise<Sample> {
  return existsSync(join(cgroupRoot, 'cgroup.controllers')) ? sampleV2(cgroupRoot, cgroupsPath) : sampleV1(cgroupRoot, cgroupsPath);
}

export interface SamplerOptions {
  /** The container's init pid, for network counters (undefined: no `networks`). */
  pid?: () => number | undefined;
  name?: string;
  id?: string;
  cgroupRoot?: string;
}

/** Keeps the previous reading so each StatsJSON carries preread/precpu_stats, as dockerd's collector. */
export class StatsSampler {
  #prev: { read: string; cpu: CpuStats } | undefined;
  constructor(readonly cgroupsPath: string, readonly opts: SamplerOptions = {}) {}

  async sample(): Promise<StatsJSON> {
    const s = await readCgroupStats(this.cgroupsPath, this.opts.cgroupRoot);
    const pid = this.opts.pid?.();
    const networks = pid ? await networkStats(pid) : undefined;
    const out: StatsJSON = {
      ...s,
      preread: this.#prev?.read ?? ZERO_TIME,
      precpu_stats: this.#prev?.cpu ?? emptyCpuStats(),
      ...(this.opts.name !== undefined ? { name: this.opts.name } : {}),
      ...(this.opts.id !== undefined ? { id: this.opts.id } : {}),
      ...(networks ? { networks } : {}),
    };
    this.#prev = { read: s.read, cpu: s.cpu_stats };
    return out;
  }

  /** `stream=true`: a reading every `intervalMs` (1 s) until `signal` aborts. */
  async *stream(signal: AbortSignal, intervalMs = 1000): AsyncGenerator<StatsJSON> {
    while (!signal.aborted) {
      yield await this.sample();
      if (!(await sleep(intervalMs, signal))) return;
    }
  }

  /**
   * `stream=false`: with `oneShot` a single reading (precpu empty); otherwise two readings
   * `intervalMs` apart, the second returned with the first as its precpu_stats.
   */
  async once(oneShot: boolean, signal?: AbortSignal, intervalMs = 1000): Promise<StatsJSON> {
    const first = await this.sample();
    if (oneShot) return first;
    await sleep(intervalMs, signal);
    return this.sample();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
