import { InvalidParameter } from '../lib/errors.js';

/**
 * Manifest formats a registry serves. A "manifest" here is an image manifest (a config and
 * its layers); a "list" is a manifest list or OCI index that points at one manifest per
 * platform. Schema 1 is recognised only to be refused.
 */
export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** The Accept header of a manifest GET: every format we read, schema 1 last so we can name it. */
export const ACCEPT = [
  MediaType.dockerManifest, MediaType.dockerList, MediaType.ociManifest, MediaType.ociIndex,
  MediaType.schema1Signed, MediaType.schema1,
].join(', ');

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type Parsed =
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'list'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'schema1' };

/** Reads a manifest body, its type taken from the Content-Type header or its mediaType field. */
export function parseManifest(body: Buffer, contentType: string | undefined): Parsed {
  let doc: { schemaVersion?: number; mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch (err) {
    throw new InvalidParameter(`invalid manifest: ${(err as Error).message}`);
  }
  const ct = (contentType ?? '').split(';')[0]!.trim();
  const mt = doc.mediaType || ct;
  if (doc.schemaVersion === 1 || mt === MediaType.schema1 || mt === MediaType.schema1Signed) return { kind: 'schema1' };
  if (Array.isArray(doc.manifests) || mt === MediaType.dockerList || mt === MediaType.ociIndex) {
    return { kind: 'list', mediaType: mt || MediaType.ociIndex, manifests: doc.manifests ?? [] };
  }
  if (doc.config && Array.isArray(doc.layers)) {
    return { kind: 'manifest', mediaType: mt || MediaType.ociManifest, config: doc.config, layers: doc.layers };
  }
  throw new InvalidParameter(`unsupported manifest media type and no default available: ${mt || ct}`);
}

/** This host's platform, in the registry's words. */
export function hostPlatform(): Platform {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : arch === 'arm' ? { variant: 'v7' } : {}) };
}

function normArch(a: string | undefined): string {
  const v = (a ?? '').toLowerCase();
  return ({ x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' } as Record<string, string>)[v] ?? v;
}

/**
 * Picks the entry of a list for `want`, as containerd's platform matcher does for dockerd:
 * same OS and architecture; for arm64 an empty variant means v8; for arm, a lower variant
 * runs on a higher one. An exact variant match wins over a compatible one.
 */
export function selectPlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const wantArch = normArch(want.architecture);
  const wantVariant = want.variant ?? (wantArch === 'arm64' ? 'v8' : '');
  let best: { d: Descriptor; score: number } | undefined;
  for (const d of manifests) {
    const p = d.platform;
    if (!p) continue;
    if ((p.os ?? '').toLowerCase() !== want.os) continue;
    if (normArch(p.architecture) !== wantArch) continue;
    let variant = p.variant ?? '';
    if (wantArch === 'arm64' && variant === '') variant = 'v8';
    let score: number;
    if (variant === wantVariant) score = 100;
    else if (wantArch === 'amd64' && (variant === '' || variant === 'v1')) score = 90;
    else if (wantArch === 'arm' && /^v\d$/.test(variant) && /^v\d$/.test(wantVariant) && variant < wantVariant) score = Number(variant.slice(1));
    else if (wantVariant === '' && wantArch !== 'amd64') score = 50;
    else continue;
    if (!best || score > best.score) best = { d, score };
  }
  return best?.d;
}

/** `linux/amd64` or `linux/arm64/v8`, as dockerd prints a platform. */
export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** A schema 2 manifest, marshalled as distribution does (three-space indent). */
export function schema2Manifest(config: Omit<Descriptor, 'platform'>, layers: Array<Omit<Descriptor, 'platform'>>): Buffer {
  const m = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers };
  return Buffer.from(JSON.stringify(m, null, 3));
}
