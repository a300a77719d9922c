import { createHash } from 'node:crypto';

/**
 * A "diff ID" is the sha256 of a layer's uncompressed tar; a "chain ID" names a layer together
 * with everything under it: the first layer's chain ID is its diff ID, each next one is
 * sha256 of "<parent chain ID> <diff ID>". Two images that share a base share its chain IDs.
 */
export function chainId(parent: string | undefined, diffId: string): string {
  if (!parent) return diffId;
  return 'sha256:' + createHash('sha256').update(`${parent} ${diffId}`).digest('hex');
}

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainId(out[out.length - 1], d));
  return out;
}

export function hexOf(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(7) : digest;
}

export function isDigest(s: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(s);
}
