import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { InvalidParameter } from '../../lib/errors.js';
import type { OciSeccomp, OciSeccompArg, OciSyscall } from './types.js';

/**
 * Seccomp profiles in Docker's format (what `--security-opt seccomp=<file>` carries), and their
 * conversion to the OCI form for one container: a rule whose includes/excludes do not match the
 * host's architecture, the kernel version or the container's bounding capabilities is dropped,
 * as dockerd's profiles/seccomp does.
 */
export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  /** "<kernel>.<major>", e.g. "4.8". */
  minKernel?: string;
}

export interface SeccompRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }>;
  syscalls?: SeccompRule[] | null;
}

/** Go's GOARCH names, which the profile's `arches` filters use, for Node's process.arch. */
const GO_ARCH: Record<string, string> = {
  x64: 'amd64', ia32: 'x86', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x',
  s390: 's390', mips: 'mips', mipsel: 'mipsle', riscv64: 'riscv64',
};
const SECCOMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', x86: 'SCMP_ARCH_X86', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', s390: 'SCMP_ARCH_S390', mipsle: 'SCMP_ARCH_MIPSEL',
};

export interface SeccompHost {
  /** GOARCH-style name of the host architecture; defaults to this machine's. */
  arch?: string;
  /** Kernel release as uname -r prints it; defaults to this machine's. */
  kernel?: string;
}

function kernelVersion(rel: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) throw new InvalidParameter(`failed to parse kernel version "${rel}"`);
  return [Number(m[1]), Number(m[2])];
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const [k, m] = kernelVersion(kernel);
  const [wk, wm] = kernelVersion(min);
  return k > wk || (k === wk && m >= wm);
}

/** Converts a profile to the OCI form for a container whose bounding set is `caps`. */
export function toOci(profile: SeccompProfile, caps: string[], host: SeccompHost = {}): OciSeccomp | undefined {
  // No default action and no syscalls: dockerd takes that as "seccomp disabled".
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidParameter("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const arch = host.arch ?? GO_ARCH[process.arch] ?? process.arch;
  const kernel = host.kernel ?? release();
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  let architectures = profile.architectures?.length ? [...profile.architectures] : [];
  const native = SECCOMP_ARCH[arch];
  const entry = native ? profile.archMap?.find((a) => a.architecture === native) : undefined;
  if (entry) architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  if (architectures.length) out.architectures = architectures;

  const syscalls: OciSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (exc.arches?.includes(arch)) continue;
    if (exc.caps?.some((c) => caps.includes(c))) continue;
    if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) continue;
    if (inc.arches?.length && !inc.arches.includes(arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) continue;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    if (rule.name && rule.names?.length) {
      throw new InvalidParameter("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
    }
    const call: OciSyscall = { names: rule.name ? [rule.name] : [...(rule.names ?? [])], action: rule.action };
    if (rule.errnoRet !== undefined && rule.errnoRet !== null) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(call);
  }
  if (syscalls.length) out.syscalls = syscalls;
  return out;
}

/**
 * The profile named by `seccomp=<value>`: the docker CLI sends the file's JSON itself, other
 * clients may send a path on the daemon's host; both are taken.
 */
export async function loadProfile(value: string): Promise<SeccompProfile> {
  let body = value;
  if (!value.trimStart().startsWith('{')) {
    try {
      body = await readFile(value, 'utf8');
    } catch (err) {
      throw new InvalidParameter(`opening seccomp profile (${value}) failed: ${(err as Error).message}`, { cause: err });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new InvalidParameter(`Decoding seccomp profile failed: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidParameter('Decoding seccomp profile failed: not a JSON object');
  }
  return parsed as SeccompProfile;
}
