import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, unlink, writeFile, symlink, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Overlay2 } from './drivers/overlay2.js';
import { Vfs } from './drivers/vfs.js';
import type { GraphDriver } from './drivers/driver.js';
import { applyTar } from './apply.js';
import { changes, diffTar, directoryTar, Kind } from './diff.js';
import { layerTar } from '../../test/image-fixtures.js';
import { readTar } from '../archive/reader.js';

const homes: string[] = [];
after(async () => {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const h of homes) {
    assert.ok(!mounts.includes(h), `mount left under ${h}`);
    await rm(h, { recursive: true, force: true });
  }
});

const id = (n: number) => n.toString(16).padStart(64, '0');

async function tree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const n of (await readdir(join(root, rel))).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await lstat(join(root, r));
    out.push(st.isFile() ? `${r}=${await readFile(join(root, r), 'utf8')}` : st.isSymbolicLink() ? `${r}@` : `${r}/`);
    if (st.isDirectory()) out.push(...(await tree(root, r)));
  }
  return out;
}

for (const [name, make] of [
  ['overlay2', async (h: string) => { const d = new Overlay2(h); await d.init(); return d; }],
  ['vfs', async (h: string) => { const d = new Vfs(h); await d.init(); return d; }],
] as Array<[string, (h: string) => Promise<GraphDriver>]>) {
  test(`${name}: changes and the diff tar of a read-write layer`, async () => {
    const home = await mkdtemp(join(tmpdir(), `berth-diff-${name}-`));
    homes.push(home);
    const d = await make(home);
    await d.create(id(1), undefined);
    await applyTar(d.diffPath(id(1)), Readable.from([await layerTar([
      { name: 'etc/', type: 'dir' }, { name: 'etc/conf', type: 'file', content: 'v1' },
      { name: 'tmp/', type: 'dir' }, { name: 'old/', type: 'dir' }, { name: 'old/x', type: 'file', content: 'x' },
      { name: 'rm-me', type: 'file', content: 'r' },
    ])]), { whiteouts: d.whiteouts });
    await d.createReadWrite(id(2), id(1));
    const root = await d.get(id(2));
    try {
      await writeFile(join(root, 'etc/conf'), 'v2');
      await writeFile(join(root, 'tmp/new'), 'n');
      await unlink(join(root, 'rm-me'));
      await rm(join(root, 'old'), { recursive: true });
      await mkdir(join(root, 'old'));
      await writeFile(join(root, 'old/y'), 'y');
      await symlink('etc/conf', join(root, 'link'));
    } finally {
      await d.put(id(2));
    }
    const got = (await changes(d, id(2), id(1))).map((c) => `${c.Kind} ${c.Path}`);
    for (const want of [`${Kind.Modified} /etc`, `${Kind.Modified} /etc/conf`, `${Kind.Modified} /tmp`, `${Kind.Added} /tmp/new`,
      `${Kind.Deleted} /rm-me`, `${Kind.Added} /link`, `${Kind.Added} /old/y`]) {
      assert.ok(got.includes(want), `${want} missing from ${got.join(', ')}`);
    }
    // The diff tar, applied on a fresh layer over the same base, gives the same view.
    const names: string[] = [];
    await d.create(id(3), id(1));
    const tarBytes: Buffer[] = [];
    for await (const c of diffTar(d, id(2), id(1))) tarBytes.push(c as Buffer);
    for await (const e of readTar(Readable.from([Buffer.concat(tarBytes)]))) { names.push(e.header.name); e.body.resume(); }
    assert.ok(names.includes('.wh.rm-me'), names.join(','));
    await applyTar(d.diffPath(id(3)), Readable.from([Buffer.concat(tarBytes)]), { whiteouts: d.whiteouts });
    const a = await d.get(id(2));
    const b = await d.get(id(3));
    try {
      assert.deepEqual(await tree(b), await tree(a));
      assert.ok(!(await tree(a)).includes('old/x=x'));
      // export: the whole view as a tar
      const exported: string[] = [];
      for await (const e of readTar(directoryTar(a))) { exported.push(e.header.name); e.body.resume(); }
      assert.ok(exported.includes('etc/conf') && exported.includes('old/y') && !exported.includes('rm-me'), exported.join(','));
    } finally {
      await d.put(id(2));
      await d.put(id(3));
    }
    for (const n of [3, 2, 1]) await d.remove(id(n));
  });
}
