/**
 * Sizes and ulimits as docker/go-units parses them (RAMInBytes, ParseUlimit), with its messages.
 */
import type { Ulimit } from './config.js';
import { parseGoInt } from './go-text.js';

const sizeRe = /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const binary: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units RAMInBytes: "64m", "64MiB", "1.5g", "1024" (bytes); units are binary and case-insensitive. */
export function ramInBytes(size: string): number {
  const m = sizeRe.exec(size);
  if (!m) throw new Error(`invalid size: '${size}'`);
  const num = m[1] as string;
  // The pattern admits "1.2.3", which Go's ParseFloat then refuses.
  if (!/^\d+(\.\d+)?$/.test(num)) throw new Error(`strconv.ParseFloat: parsing "${num}": invalid syntax`);
  const mul = m[3] ? (binary[m[3].toLowerCase()] as number) : 1;
  return Math.trunc(Number(num) * mul);
}

/** The names go-units knows, i.e. the rlimits a container may be given. */
export const ulimitNames: readonly string[] = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
  'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
];

/** go-units ParseUlimit: "name=soft[:hard]"; hard defaults to soft; -1 as hard means unlimited. */
export function parseUlimit(val: string): Ulimit {
  const eq = val.indexOf('=');
  if (eq < 0) throw new Error(`invalid ulimit argument: ${val}`);
  const name = val.slice(0, eq);
  const limits = val.slice(eq + 1);
  if (!ulimitNames.includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = limits.split(':');
  if (parts.length > 2) {
    throw new Error(`too many limit value arguments - ${limits}, can only have up to two, \`soft[:hard]\``);
  }
  const hard = parts.length === 2 ? parseGoInt(parts[1] as string) : undefined;
  const soft = parseGoInt(parts[0] as string);
  return checkUlimit({ Name: name, Soft: soft, Hard: hard ?? soft });
}

/** The soft <= hard rule of ParseUlimit, also applied to ulimits from daemon.json. */
export function checkUlimit(u: Ulimit): Ulimit {
  if (u.Hard !== -1 && u.Soft > u.Hard) {
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  }
  return u;
}
