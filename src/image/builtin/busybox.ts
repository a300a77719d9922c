import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PassThrough, type Readable } from 'node:stream';
import { TarWriter, tarStream } from '../../archive/writer.js';
import type { ImageConfig } from '../../types/image.js';

const run = promisify(execFile);

/**
 * A busybox image made from Debian's busybox-static, so that `docker run busybox` works with
 * no registry: one layer holding /bin/busybox, a link for every applet, a minimal /etc and
 * the usual empty directories. Everything in it is dated from the busybox binary itself, so
 * one machine always builds the same image ID.
 */
export const BUSYBOX_BINARY = '/bin/busybox';

export interface BuiltImage {
  config: Buffer;
  layer: Buffer;
  diffId: string;
  id: string;
}

export interface BusyboxOptions {
  /** Extra files for test images, path (no leading slash) to content. */
  files?: Record<string, string | Buffer>;
  /** Overrides of the image's container config (Cmd, Env, Labels, ...). */
  config?: Record<string, unknown>;
  binary?: string;
}

async function buildLayer(opts: BusyboxOptions): Promise<{ layer: Buffer; mtime: Date }> {
  const binary = opts.binary ?? BUSYBOX_BINARY;
  const [bin, st, list] = await Promise.all([
    readFile(binary), stat(binary), run(binary, ['--list-full']).then((r) => r.stdout),
  ]);
  const mtime = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
  const dirs: Array<[string, number]> = [
    ['bin/', 0o755], ['dev/', 0o755], ['etc/', 0o755], ['home/', 0o755], ['proc/', 0o555], ['root/', 0o700],
    ['sbin/', 0o755], ['sys/', 0o555], ['tmp/', 0o1777], ['usr/', 0o755], ['usr/bin/', 0o755], ['usr/sbin/', 0o755],
    ['var/', 0o755], ['var/spool/', 0o755], ['var/spool/mail/', 0o755], ['var/www/', 0o755],
  ];
  const files: Record<string, string | Buffer> = {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
    'etc/group': 'root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n',
    'etc/shadow': 'root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n',
    ...opts.files,
  };
  const applets = list.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'bin/busybox').sort();
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new TarWriter(out);
  const extraDirs = new Set<string>();
  for (const p of Object.keys(files)) {
    const parts = p.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) extraDirs.add(parts.slice(0, i).join('/') + '/');
  }
  const allDirs = new Map(dirs);
  for (const d of extraDirs) if (!allDirs.has(d)) allDirs.set(d, 0o755);
  for (const [name, mode] of [...allDirs].sort(([a], [b]) => a.localeCompare(b))) {
    await w.addEntry({ name, type: 'dir', mode, mtime });
  }
  await w.addEntry({ name: 'bin/busybox', type: 'file', mode: 0o755, mtime }, bin);
  for (const a of applets) {
    // Hard links would tie every applet to one inode; dockerd's busybox image uses them too,
    // but symlinks keep the layer readable in `docker diff` and smaller in tar headers.
    await w.addEntry({ name: a, type: 'symlink', linkname: '/bin/busybox', mode: 0o777, mtime });
  }
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    await w.addEntry({ name, type: 'file', mode: name === 'etc/shadow' ? 0o640 : 0o644, mtime }, Buffer.from(content));
  }
  await w.finish();
  return { layer: Buffer.concat(chunks), mtime };
}

export async function buildBusybox(opts: BusyboxOptions = {}): Promise<BuiltImage> {
  const { layer, mtime } = await buildLayer(opts);
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const created = mtime.toISOString().replace(/\.000Z$/, 'Z');
  const cfg: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
      ...opts.config,
    },
    created,
    history: [{ created, created_by: 'berth: busybox from Debian busybox-static', comment: 'built-in' }],
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const config = Buffer.from(JSON.stringify(cfg));
  return { config, layer, diffId, id: `sha256:${createHash('sha256').update(config).digest('hex')}` };
}

/** The image as a `docker load` archive (docker-archive format), tagged with `tags`. */
export function dockerArchive(img: BuiltImage, tags: string[]): Readable {
  const hex = img.id.slice(7);
  const layerDir = img.diffId.slice(7);
  return tarStream(async (w) => {
    await w.addEntry({ name: `${layerDir}/`, type: 'dir', mode: 0o755 });
    await w.addEntry({ name: `${layerDir}/VERSION`, type: 'file', mode: 0o644 }, Buffer.from('1.0'));
    await w.addEntry({ name: `${layerDir}/json`, type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify({ id: layerDir })));
    await w.addEntry({ name: `${layerDir}/layer.tar`, type: 'file', mode: 0o644 }, img.layer);
    await w.addEntry({ name: `${hex}.json`, type: 'file', mode: 0o644 }, img.config);
    const manifest = [{ Config: `${hex}.json`, RepoTags: tags, Layers: [`${layerDir}/layer.tar`] }];
    await w.addEntry({ name: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(manifest)));
  });
}
