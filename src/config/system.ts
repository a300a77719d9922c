/**
 * Start-up checks on the host rather than on the configuration. They are separate from
 * loadConfig so the daemon decides when to run them and tests can pass a fake uid or release.
 */
import { release as osRelease } from 'node:os';
import { ConfigError } from '../lib/errors.js';

/** berthd mounts, creates network devices and changes iptables: nothing works without root. */
export function checkRoot(uid: number | undefined = process.getuid?.()): void {
  if (uid !== 0) throw new ConfigError('berthd needs to be run as root');
}

/** A warning for kernels older than 3.10, dockerd's minimum; undefined when fine or unknown. */
export function checkKernel(release: string = osRelease()): string | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major > 3 || (major === 3 && minor >= 10)) return undefined;
  return `You are running linux kernel version ${release}, which might be unstable running Berth. Please upgrade your kernel to 3.10.0 or newer.`;
}
