import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Facts about the host that `docker info` and `docker version` report, read from the host. */
export interface OsRelease {
  prettyName: string;
  versionId: string;
}

export function osRelease(): OsRelease {
  const text = readText('/etc/os-release') ?? readText('/usr/lib/os-release') ?? '';
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!.replace(/^["']|["']$/g, ''));
  }
  return { prettyName: fields.get('PRETTY_NAME') ?? 'Linux', versionId: fields.get('VERSION_ID') ?? '' };
}

export function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

export function cgroupVersion(): '1' | '2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}

/** The cgroup features dockerd reports (and warns about when missing). */
export interface CgroupFeatures {
  memoryLimit: boolean;
  swapLimit: boolean;
  kernelMemory: boolean;
  oomKillDisable: boolean;
  cpuCfsPeriod: boolean;
  cpuCfsQuota: boolean;
  cpuShares: boolean;
  cpuSet: boolean;
  pidsLimit: boolean;
}

export function cgroupFeatures(): CgroupFeatures {
  if (cgroupVersion() === '2') {
    const controllers = readText('/sys/fs/cgroup/cgroup.controllers') ?? '';
    const has = (c: string) => controllers.split(/\s+/).includes(c);
    return {
      memoryLimit: has('memory'), swapLimit: has('memory'), kernelMemory: false, oomKillDisable: false,
      cpuCfsPeriod: has('cpu'), cpuCfsQuota: has('cpu'), cpuShares: has('cpu'), cpuSet: has('cpuset'),
      pidsLimit: has('pids'),
    };
  }
  const f = (p: string) => existsSync(`/sys/fs/cgroup/${p}`);
  return {
    memoryLimit: f('memory/memory.limit_in_bytes'),
    swapLimit: f('memory/memory.memsw.limit_in_bytes'),
    kernelMemory: f('memory/memory.kmem.limit_in_bytes'),
    oomKillDisable: f('memory/memory.oom_control'),
    cpuCfsPeriod: f('cpu/cpu.cfs_period_us'),
    cpuCfsQuota: f('cpu/cpu.cfs_quota_us'),
    cpuShares: f('cpu/cpu.shares'),
    cpuSet: f('cpuset/cpuset.cpus'),
    pidsLimit: f('pids/pids.max') || f('pids'),
  };
}

export function sysctlOn(path: string): boolean {
  return (readText(path) ?? '').trim() === '1';
}

export function apparmorEnabled(): boolean {
  return (readText('/sys/module/apparmor/parameters/enabled') ?? '').trim() === 'Y';
}

export function openFds(): number {
  try { return readdirSync('/proc/self/fd').length; } catch { return 0; }
}

/** A binary's version and commit as it prints them with --version, or undefined if absent. */
export interface BinaryVersion {
  version: string;
  commit: string;
}

export async function binaryVersion(binary: string): Promise<BinaryVersion | undefined> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 5000 });
    const version = /version\s+v?(\S+)/i.exec(stdout)?.[1] ?? 'unknown';
    const commit = /commit:\s*(\S+)/i.exec(stdout)?.[1] ?? /\s-\s(\S+)/.exec(stdout)?.[1] ?? '';
    return { version, commit };
  } catch {
    return undefined;
  }
}

/** Go's name for this architecture, as the Engine API reports it in /version. */
export function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le' };
  return map[process.arch] ?? process.arch;
}
