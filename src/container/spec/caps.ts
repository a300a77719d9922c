import { readFileSync } from 'node:fs';
import { InvalidParameter } from '../../lib/errors.js';

/**
 * Capabilities as dockerd 20.10 grants them: "the default set" is what every container gets,
 * "all" is every capability up to CAP_AUDIT_READ (20.10 leaves out CAP_PERFMON, CAP_BPF and
 * CAP_CHECKPOINT_RESTORE, which it treats as unknown), in kernel numbering order.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
];

let bounding: readonly string[] | undefined;

/**
 * "All" as this daemon can grant it: ALL_CAPABILITIES within berthd's own bounding set (read
 * once from /proc/self/status), as containerd's WithAllCurrentCapabilities does. runc refuses
 * to grant a capability the host withholds, so asking for one would fail every privileged
 * container on a restricted host (this machine's bounding set lacks CAP_SYS_RESOURCE).
 */
export function grantableCapabilities(): readonly string[] {
  if (bounding) return bounding;
  const status = (() => { try { return readFileSync('/proc/self/status', 'utf8'); } catch { return ''; } })();
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!hex) return (bounding = ALL_CAPABILITIES);
  const mask = BigInt(`0x${hex}`);
  bounding = ALL_CAPABILITIES.filter((_c, bit) => (mask >> BigInt(bit)) & 1n);
  return bounding;
}

/** Upper-cases, adds the CAP_ prefix and validates; "ALL" passes through. */
export function normalizeCapabilities(caps: readonly string[] | null | undefined): string[] {
  return (caps ?? []).map((c) => {
    let up = c.toUpperCase();
    if (up === 'ALL') return up;
    if (!up.startsWith('CAP_')) up = `CAP_${up}`;
    if (!ALL_CAPABILITIES.includes(up)) throw new InvalidParameter(`unknown capability: ${JSON.stringify(up)}`);
    return up;
  });
}

/** The container's capability set from CapAdd / CapDrop, as caps.TweakCapabilities computes it. */
export function tweakCapabilities(
  adds: readonly string[] | null | undefined,
  drops: readonly string[] | null | undefined,
  privileged: boolean,
): string[] {
  if (privileged) return [...grantableCapabilities()];
  if (!adds?.length && !drops?.length) return [...DEFAULT_CAPABILITIES];
  const drop = normalizeCapabilities(drops);
  const add = normalizeCapabilities(adds);
  if (add.includes('ALL')) return grantableCapabilities().filter((c) => !drop.includes(c));
  if (drop.includes('ALL')) return add;
  return [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
}
