import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, lstat, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { Overlay2 } from './overlay2.js';
import { Vfs } from './vfs.js';
import type { GraphDriver } from './driver.js';
import { applyTar } from '../apply.js';
import { TarWriter, type EntryInput } from '../../archive/writer.js';
import { native } from '../../lib/native.js';

/** The shared driver suite: every graph driver passes the same tests. */
const dirs: string[] = [];
after(async () => {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const d of dirs) {
    assert.ok(!mounts.includes(d), `a mount under ${d} was left behind`);
    await rm(d, { recursive: true, force: true });
  }
});

async function tar(entries: Array<EntryInput & { content?: string }>): Promise<Readable> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new TarWriter(out);
  for (const { content, ...h } of entries) await w.addEntry({ mtime: new Date(1_500_000_000_000), ...h }, content === undefined ? undefined : Buffer.from(content));
  await w.finish();
  return Readable.from([Buffer.concat(chunks)]);
}

const id = (n: number) => n.toString(16).padStart(64, '0');

for (const [name, make] of [
  ['overlay2', async (home: string) => { const d = new Overlay2(home); await d.init(); return d; }],
  ['vfs', async (home: string) => { const d = new Vfs(home); await d.init(); return d; }],
] as Array<[string, (home: string) => Promise<GraphDriver>]>) {
  test(`${name}: layers stack, whiteouts hide, metadata is kept`, async () => {
    const home = await mkdtemp(join(tmpdir(), `berth-drv-${name}-`));
    dirs.push(home);
    const d = await make(home);
    await d.create(id(1), undefined);
    await applyTar(d.diffPath(id(1)), await tar([
      { name: 'dir/', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
      { name: 'dir/a', type: 'file', content: 'a', mode: 0o4755, uid: 1000, gid: 50 },
      { name: 'gone', type: 'file', content: 'x' },
      { name: 'opq/', type: 'dir' }, { name: 'opq/old', type: 'file', content: 'o' },
      { name: 'hard', type: 'link', linkname: 'gone' },
      { name: 'sym', type: 'symlink', linkname: 'dir/a' },
      { name: 'null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'cap', type: 'file', content: 'c', xattrs: { 'user.berth': Buffer.from('v') } },
    ]), { whiteouts: d.whiteouts });
    await d.create(id(2), id(1));
    await applyTar(d.diffPath(id(2)), await tar([
      { name: '.wh.gone', type: 'file' }, { name: 'dir/', type: 'dir', mode: 0o750 }, { name: 'dir/.wh.a', type: 'file' },
      { name: 'opq/', type: 'dir' }, { name: 'opq/.wh..wh..opq', type: 'file' }, { name: 'opq/new', type: 'file', content: 'n' },
    ]), { whiteouts: d.whiteouts });
    const base = await d.get(id(1));
    const st = await stat(join(base, 'dir/a'));
    assert.equal(st.mode & 0o7777, 0o4755);
    assert.equal(st.uid, 1000);
    assert.equal(st.gid, 50);
    assert.equal((await stat(join(base, 'dir'))).mode & 0o777, 0o750);
    assert.equal((await stat(join(base, 'gone'))).ino, (await stat(join(base, 'hard'))).ino);
    assert.ok((await lstat(join(base, 'sym'))).isSymbolicLink());
    assert.ok((await lstat(join(base, 'null'))).isCharacterDevice());
    assert.equal(native.lgetxattr(join(base, 'cap'), 'user.berth')?.toString(), 'v');
    assert.equal((await stat(join(base, 'dir/a'))).mtime.getTime(), 1_500_000_000_000);
    await d.put(id(1));
    const top = await d.get(id(2));
    try {
      assert.deepEqual((await readdir(top)).sort(), ['cap', 'dir', 'hard', 'null', 'opq', 'sym']);
      assert.deepEqual(await readdir(join(top, 'dir')), []);
      assert.deepEqual(await readdir(join(top, 'opq')), ['new']);
      // A second get shares the mount; the first put must not take it away.
      const again = await d.get(id(2));
      assert.equal(again, top);
      await d.put(id(2));
      assert.deepEqual(await readdir(join(top, 'opq')), ['new']);
    } finally {
      await d.put(id(2));
    }
    await d.remove(id(2));
    await d.remove(id(1));
    assert.equal(await d.exists(id(1)), false);
  });

  test(`${name}: a 120-layer chain mounts and reads its lowest file`, async () => {
    const home = await mkdtemp(join(tmpdir(), `berth-deep-${name}-`));
    dirs.push(home);
    const d = await make(home);
    for (let i = 1; i <= 120; i++) {
      await d.create(id(i), i > 1 ? id(i - 1) : undefined);
      await writeFile(join(d.diffPath(id(i)), `f${i}`), `layer ${i}`);
    }
    const root = await d.get(id(120));
    try {
      assert.equal(await readFile(join(root, 'f1'), 'utf8'), 'layer 1');
      assert.equal(await readFile(join(root, 'f120'), 'utf8'), 'layer 120');
      assert.equal((await readdir(root)).length, 120);
    } finally {
      await d.put(id(120));
    }
    for (let i = 120; i >= 1; i--) await d.remove(id(i));
    if (name === 'overlay2') assert.deepEqual(await readdir(join(home, 'l')), []);
  });
}
