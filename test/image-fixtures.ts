import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { TarWriter, tarStream, type EntryInput } from '../src/archive/writer.js';

/** A file of a test layer: the tar header fields plus its content. */
export type FixtureEntry = EntryInput & { content?: string | Buffer };

export async function layerTar(entries: FixtureEntry[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new TarWriter(out);
  for (const { content, ...h } of entries) {
    await w.addEntry({ mtime: new Date(1_600_000_000_000), ...h }, content === undefined ? undefined : Buffer.from(content));
  }
  await w.finish();
  return Buffer.concat(chunks);
}

export interface FixtureImage {
  id: string;
  config: Buffer;
  diffIds: string[];
  layers: Buffer[];
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An image config over the given layer tars (no base: these are whole test images). */
export function image(layers: Buffer[], extra: Record<string, unknown> = {}): FixtureImage {
  const diffIds = layers.map((l) => sha(l));
  const cfg = {
    architecture: 'amd64', os: 'linux', created: '2020-09-13T12:26:40Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    history: layers.map((_, i) => ({ created: '2020-09-13T12:26:40Z', created_by: `layer ${i}` })),
    rootfs: { type: 'layers', diff_ids: diffIds },
    ...extra,
  };
  const config = Buffer.from(JSON.stringify(cfg));
  return { id: sha(config), config, diffIds, layers };
}

/** A docker-archive (what `docker save` writes) holding the images with their tags. */
export function archive(images: Array<{ img: FixtureImage; tags: string[] }>): Readable {
  return tarStream(async (w) => {
    const manifest = [];
    const seen = new Set<string>();
    for (const { img, tags } of images) {
      const paths: string[] = [];
      for (let i = 0; i < img.layers.length; i++) {
        const dir = img.diffIds[i]!.slice(7);
        paths.push(`${dir}/layer.tar`);
        if (seen.has(dir)) continue;
        seen.add(dir);
        await w.addEntry({ name: `${dir}/`, type: 'dir', mode: 0o755 });
        await w.addEntry({ name: `${dir}/layer.tar`, type: 'file', mode: 0o644 }, img.layers[i]!);
      }
      await w.addEntry({ name: `${img.id.slice(7)}.json`, type: 'file', mode: 0o644 }, img.config);
      manifest.push({ Config: `${img.id.slice(7)}.json`, RepoTags: tags, Layers: paths });
    }
    await w.addEntry({ name: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(manifest)));
  });
}

export async function toBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
