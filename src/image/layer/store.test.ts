import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Overlay2 } from '../drivers/overlay2.js';
import { LayerStore } from './store.js';
import { setupInitLayer } from './init.js';
import { layerApplier } from '../applier.js';
import { changes, diffTar } from '../diff.js';
import { layerTar } from '../../../test/image-fixtures.js';
import { silentLog } from '../../lib/log.js';

const roots: string[] = [];
after(async () => {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const r of roots) {
    assert.ok(!mounts.includes(r), `mount left under ${r}`);
    await rm(r, { recursive: true, force: true });
  }
});

async function open(root: string) {
  const driver = new Overlay2(join(root, 'overlay2'));
  await driver.init();
  return LayerStore.open({ root: join(root, 'image'), driver, applier: layerApplier(driver), log: silentLog() });
}

test('register, reference counts, and removal with the last reference', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-layers-'));
  roots.push(root);
  const s = await open(root);
  const base = await s.register(Readable.from([await layerTar([{ name: 'a', type: 'file', content: 'a' }])]), undefined);
  const top = await s.register(Readable.from([await layerTar([{ name: 'b', type: 'file', content: 'b' }])]), base.chainId);
  assert.equal(top.parent, base.chainId);
  // The same content on the same parent is the same layer.
  const again = await s.register(Readable.from([await layerTar([{ name: 'b', type: 'file', content: 'b' }])]), base.chainId);
  assert.equal(again.chainId, top.chainId);
  assert.deepEqual(await s.release(again.chainId), []);
  // The base survives its caller's release while the top holds it.
  assert.deepEqual(await s.release(base.chainId), []);
  // Reopened, nothing holds the layers any more (no image): prune removes both and their dirs.
  const reopened = await open(root);
  assert.ok(reopened.get(top.chainId));
  assert.equal(await reopened.prune(), 2);
  assert.equal(reopened.get(base.chainId), undefined);
  assert.deepEqual(await readdir(join(root, 'image', 'layerdb', 'sha256')), []);
  assert.deepEqual((await readdir(join(root, 'overlay2'))).filter((n) => n !== 'l'), []);
});

test('a read-write layer: init layer content, changes, commit as a new layer, release', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-rw-'));
  roots.push(root);
  const s = await open(root);
  const base = await s.register(Readable.from([await layerTar([
    { name: 'etc/', type: 'dir' }, { name: 'etc/os', type: 'file', content: 'berth' },
  ])]), undefined);
  const rw = await s.createRW('c'.repeat(64), base.chainId, (r) => setupInitLayer(r));
  const mnt = await s.mountRW('c'.repeat(64));
  try {
    for (const d of ['dev/pts', 'dev/shm', 'proc', 'sys']) assert.ok((await stat(join(mnt, d))).isDirectory(), d);
    for (const f of ['.dockerenv', 'etc/resolv.conf', 'etc/hosts', 'etc/hostname', 'dev/console']) assert.ok((await stat(join(mnt, f))).isFile(), f);
    assert.equal(await readlink(join(mnt, 'etc/mtab')), '/proc/mounts');
    assert.equal(await readFile(join(mnt, 'etc/os'), 'utf8'), 'berth');
    await writeFile(join(mnt, 'etc/new'), 'made in the container');
  } finally {
    await s.unmountRW('c'.repeat(64));
  }
  // The container's diff is over the init layer: the init files are not in it.
  const list = (await changes(s.driver, rw.mountId, rw.initId)).map((c) => c.Path);
  assert.deepEqual(list, ['/etc', '/etc/new']);
  const committed = await s.register(diffTar(s.driver, rw.mountId, rw.initId), base.chainId);
  assert.equal(committed.parent, base.chainId);
  await s.releaseRW('c'.repeat(64));
  const left = await readdir(join(root, 'overlay2'));
  assert.ok(!left.includes(rw.mountId) && !left.includes(rw.initId), left.join(','));
  const removed = await s.release(committed.chainId);
  assert.deepEqual(removed, [committed.chainId]);
  assert.deepEqual(await s.release(base.chainId), [base.chainId]);
  assert.deepEqual((await readdir(join(root, 'overlay2'))).filter((n) => n !== 'l'), []);
});
