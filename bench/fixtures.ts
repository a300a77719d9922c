import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TarWriter, tarStream } from '../src/archive/writer.js';

/**
 * Image archives for the image scenarios, made once per run: a docker-archive that both
 * engines load. Content is pseudo-random (a seeded xorshift), so compression and dedup
 * cannot shortcut the work.
 */
export function noise(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

async function layer(files: Array<[string, Buffer]>): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new TarWriter(out);
  for (const [name, content] of files) await w.addEntry({ name, type: 'file', mode: 0o644, mtime: new Date(1_600_000_000_000) }, content);
  await w.finish();
  return Buffer.concat(chunks);
}

export const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function config(diffIds: string[], label: string): Buffer {
  return Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2020-09-13T12:26:40Z',
    config: { Cmd: ['sh'], Labels: { bench: label } },
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
}

async function write(path: string, images: Array<{ config: Buffer; layers: Buffer[]; tag: string }>): Promise<void> {
  await pipeline(tarStream(async (w) => {
    const manifest = [];
    const seen = new Set<string>();
    for (const img of images) {
      const paths = [];
      for (const l of img.layers) {
        const d = sha(l).slice(7);
        paths.push(`${d}/layer.tar`);
        if (seen.has(d)) continue;
        seen.add(d);
        await w.addEntry({ name: `${d}/layer.tar`, type: 'file', mode: 0o644 }, l);
      }
      const c = sha(img.config).slice(7);
      await w.addEntry({ name: `${c}.json`, type: 'file', mode: 0o644 }, img.config);
      manifest.push({ Config: `${c}.json`, RepoTags: [img.tag], Layers: paths });
    }
    await w.addEntry({ name: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(manifest)));
  }), createWriteStream(path));
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** A 10-layer image of about 300 MB: each layer 3 files of 10 MB. */
export async function bigImage(dir: string): Promise<string> {
  const path = join(dir, 'big-300mb.tar');
  if (await exists(path)) return path;
  const layers: Buffer[] = [];
  for (let i = 0; i < 10; i++) {
    layers.push(await layer([0, 1, 2].map((j) => [`data/l${i}/f${j}`, noise(i * 7 + j + 1, 10 << 20)])));
  }
  await write(path, [{ config: config(layers.map(sha), 'big'), layers, tag: 'bench/big:300mb' }]);
  return path;
}

/** 1,000 small images (distinct configs over one shared layer), tagged bench/many:N. */
export async function manyImages(dir: string): Promise<string> {
  const path = join(dir, 'many-1000.tar');
  if (await exists(path)) return path;
  const shared = await layer([['hello', Buffer.from('hello\n')]]);
  const images = [];
  for (let i = 0; i < 1000; i++) images.push({ config: config([sha(shared)], `n${i}`), layers: [shared], tag: `bench/many:${i}` });
  await write(path, images);
  return path;
}

/** The built-in busybox image (Debian's busybox-static) as a docker-archive, for both engines. */
export async function busyboxArchive(dir: string): Promise<string> {
  const path = join(dir, 'busybox.tar');
  if (await exists(path)) return path;
  const { buildBusybox, dockerArchive } = await import('../src/image/builtin/busybox.js');
  await pipeline(dockerArchive(await buildBusybox(), ['busybox:latest']), createWriteStream(path));
  return path;
}
