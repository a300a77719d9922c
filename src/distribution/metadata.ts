import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic.js';

/**
 * Distribution metadata, kept as dockerd keeps it under `image/<driver>/distribution/`:
 * which compressed blob (by digest) holds which layer (by diff ID), and in which repositories
 * of which registries that blob was seen. Push reads it to skip a blob the registry has, or
 * to mount it from another repository, instead of compressing the layer again.
 */
export interface BlobRecord {
  Digest: string;
  /** Full repository name, registry included: `127.0.0.1:5000/team/app`. */
  SourceRepository: string;
  HMAC: string;
}

export class Metadata {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #byDigest(digest: string): string { return join(this.#root, 'diffid-by-digest', 'sha256', digest.replace(/^sha256:/, '')); }
  #byDiffId(diffId: string): string { return join(this.#root, 'v2metadata-by-diffid', 'sha256', diffId.replace(/^sha256:/, '')); }

  async diffIdOf(digest: string): Promise<string | undefined> {
    return (await readFile(this.#byDigest(digest), 'utf8').catch(() => '')).trim() || undefined;
  }

  async blobsOf(diffId: string): Promise<BlobRecord[]> {
    try {
      const v = JSON.parse(await readFile(this.#byDiffId(diffId), 'utf8')) as unknown;
      return Array.isArray(v) ? (v as BlobRecord[]).filter((r) => r && typeof r.Digest === 'string') : [];
    } catch {
      return [];
    }
  }

  /** Records that `digest` (in `repository`) holds the layer `diffId`; newest first, no duplicates. */
  async record(diffId: string, digest: string, repository: string): Promise<void> {
    await mkdir(join(this.#root, 'diffid-by-digest', 'sha256'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.#root, 'v2metadata-by-diffid', 'sha256'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.#byDigest(digest), diffId);
    const list = (await this.blobsOf(diffId)).filter((r) => !(r.Digest === digest && r.SourceRepository === repository));
    list.unshift({ Digest: digest, SourceRepository: repository, HMAC: '' });
    await writeFileAtomic(this.#byDiffId(diffId), JSON.stringify(list.slice(0, 50)));
  }
}
