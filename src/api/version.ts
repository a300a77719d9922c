import { InvalidParameter } from '../lib/errors.js';

/** The Engine API versions this server speaks. The core always speaks the newest shape. */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number(pa[i] ?? 0);
    const y = Number(pb[i] ?? 0);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Splits `/v1.41/containers/json` into the version and the path. A path without a prefix is
 * served at the current version, as dockerd does.
 */
export function splitVersion(path: string): { version: string; path: string } {
  const m = /^\/v([0-9][0-9.]*)(\/.*)?$/.exec(path);
  if (!m) return { version: API_VERSION, path };
  return { version: m[1]!, path: m[2] ?? '/' };
}

/** Refuses versions outside [MIN_API_VERSION, API_VERSION] with dockerd's wording. */
export function checkVersion(version: string): void {
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw new InvalidParameter(
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(version, API_VERSION) > 0) {
    throw new InvalidParameter(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
}
