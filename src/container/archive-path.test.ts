import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, existsSync, lstatSync, rmSync, readlinkSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { readTar } from '../archive/reader.js';
import { tarStream } from '../archive/writer.js';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import { archivePath, encodePathStat, extractToPath, resolveInScope, statPath } from './archive-path.js';

async function entries(tar: Readable): Promise<Array<{ name: string; type: string; linkname: string; body: string }>> {
  const out = [];
  for await (const e of readTar(tar)) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c as Buffer);
    out.push({ name: e.header.name, type: e.header.type, linkname: e.header.linkname, body: Buffer.concat(chunks).toString() });
  }
  return out;
}

function setup() {
  const base = mkdtempSync(join(tmpdir(), 'berth-archive-test-'));
  const root = join(base, 'rootfs');
  const host = join(base, 'host'); // stands for host files outside the container root
  mkdirSync(host);
  writeFileSync(join(host, 'secret'), 'host secret');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'secret'), 'container secret');
  mkdirSync(join(root, 'data', 'sub'), { recursive: true });
  writeFileSync(join(root, 'data', 'a.txt'), 'aaa');
  writeFileSync(join(root, 'data', 'sub', 'b.txt'), 'bb');
  linkSync(join(root, 'data', 'a.txt'), join(root, 'data', 'hard.txt'));
  symlinkSync('/etc', join(root, 'etclink'));
  symlinkSync('../../../../../../../../' + host.slice(1), join(root, 'dotdot'));
  symlinkSync(host, join(root, 'abshost'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('/data', join(root, 'datalink'));
  return { base, root, host };
}

test('resolveInScope keeps every symlink and .. inside the root', async (t) => {
  const { base, root, host } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  assert.equal(await resolveInScope(root, '/etclink/secret'), join(root, 'etc/secret'));
  assert.equal(await resolveInScope(root, '/../../../etc'), join(root, 'etc'));
  assert.equal(await resolveInScope(root, '/dotdot/secret'), join(root, host.slice(1), 'secret'));
  assert.equal(await resolveInScope(root, '/abshost/secret'), join(root, host.slice(1), 'secret'));
  await assert.rejects(resolveInScope(root, '/loop1/x'), (e: unknown) => e instanceof SystemError && /too many links/.test((e as Error).message));
});

test('statPath: the header stat, symlinks not followed but resolved in scope', async (t) => {
  const { base, root } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const f = await statPath(root, '/data/a.txt', 'c1');
  assert.equal(f.name, 'a.txt');
  assert.equal(f.size, 3);
  assert.equal(f.mode, lstatSync(join(root, 'data/a.txt')).mode & 0o777);
  assert.match(f.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const d = await statPath(root, '/data', 'c1');
  assert.equal(d.mode, (0x80000000 | 0o755) >>> 0);
  const l = await statPath(root, '/abshost', 'c1');
  assert.equal(l.mode & (1 << 27), 1 << 27);
  assert.equal(l.linkTarget, join('/', (await resolveInScope(root, '/abshost')).slice(root.length + 1)));
  assert.ok(!l.linkTarget.startsWith(root));
  const etc = await statPath(root, '/etclink', 'c1');
  assert.equal(etc.linkTarget, '/etc');
  await assert.rejects(statPath(root, '/abshost/secret', 'c1'), (e: unknown) => e instanceof NotFound && (e as Error).message === 'Could not find the file /abshost/secret in container c1');
  const hdr = JSON.parse(Buffer.from(encodePathStat(f), 'base64').toString());
  assert.deepEqual(hdr, f);
});

test('archivePath: names, trailing /., symlink as link or followed, never host files', async (t) => {
  const { base, root } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = await entries((await archivePath(root, '/data')).tar);
  assert.deepEqual(dir.map((e) => e.name), ['data/', 'data/a.txt', 'data/hard.txt', 'data/sub/', 'data/sub/b.txt']);
  assert.equal(dir[1]!.body, 'aaa');
  assert.equal(dir[2]!.type, 'link');
  assert.equal(dir[2]!.linkname, 'data/a.txt');
  const contents = await entries((await archivePath(root, '/data/.')).tar);
  assert.deepEqual(contents.map((e) => e.name), ['./', './a.txt', './hard.txt', './sub/', './sub/b.txt']);
  const link = await entries((await archivePath(root, '/etclink')).tar);
  assert.deepEqual(link, [{ name: 'etclink', type: 'symlink', linkname: '/etc', body: '' }]);
  const followed = await entries((await archivePath(root, '/etclink/')).tar);
  assert.deepEqual(followed.map((e) => [e.name, e.body]), [['etclink/', ''], ['etclink/secret', 'container secret']]);
  await assert.rejects(archivePath(root, '/abshost/secret'), NotFound);
  await assert.rejects(archivePath(root, '/dotdot/secret'), NotFound);
  await assert.rejects(archivePath(root, '/loop1/'), /too many links/);
});

function tarOf(list: Array<{ name: string; type: 'file' | 'dir' | 'symlink' | 'link'; body?: string; linkname?: string; uid?: number }>): Readable {
  return tarStream(async (w) => {
    for (const e of list) await w.addEntry({ name: e.name, type: e.type, linkname: e.linkname, uid: e.uid ?? 1234, gid: 1234, mode: e.type === 'dir' ? 0o755 : 0o640 }, e.body !== undefined ? Buffer.from(e.body) : undefined);
  });
}

test('extractToPath: writes in scope, refuses escapes, checks the destination', async (t) => {
  const { base, root, host } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  await extractToPath(root, '/data', tarOf([{ name: 'new/', type: 'dir' }, { name: 'new/n.txt', type: 'file', body: 'new!' }]), {}, 'c1');
  assert.equal(readFileSync(join(root, 'data/new/n.txt'), 'utf8'), 'new!');
  assert.equal(lstatSync(join(root, 'data/new/n.txt')).uid, 0);
  await extractToPath(root, '/data', tarOf([{ name: 'own.txt', type: 'file', body: 'x' }]), { copyUIDGID: true });
  assert.equal(lstatSync(join(root, 'data/own.txt')).uid, 1234);

  // destination through a symlink that points at a host path lands inside the root
  mkdirSync(join(root, host.slice(1)), { recursive: true });
  await extractToPath(root, '/abshost', tarOf([{ name: 'secret', type: 'file', body: 'pwned?' }]));
  assert.equal(readFileSync(join(host, 'secret'), 'utf8'), 'host secret');
  assert.equal(readFileSync(join(root, host.slice(1), 'secret'), 'utf8'), 'pwned?');

  // an entry through a symlink already in the destination stays in the root
  await extractToPath(root, '/', tarOf([{ name: 'dotdot/secret2', type: 'file', body: 'no' }]));
  assert.equal(existsSync(join(host, 'secret2')), false);
  assert.equal(readFileSync(join(root, host.slice(1), 'secret2'), 'utf8'), 'no');

  // a symlink entry followed by a file through it: resolved in scope
  await extractToPath(root, '/data', tarOf([{ name: 'evil', type: 'symlink', linkname: host }, { name: 'evil/secret', type: 'file', body: 'no' }]));
  assert.equal(readFileSync(join(host, 'secret'), 'utf8'), 'host secret');
  assert.equal(readlinkSync(join(root, 'data/evil')), host);

  await assert.rejects(extractToPath(root, '/data', tarOf([{ name: '../../../x', type: 'file', body: 'no' }])), (e: unknown) => e instanceof SystemError && /is outside of/.test((e as Error).message));
  await assert.rejects(extractToPath(root, '/data', tarOf([{ name: 'h', type: 'link', linkname: '../etc/secret' }])), /invalid hardlink/);
  await assert.rejects(extractToPath(root, '/nope', tarOf([]), {}, 'c1'), (e: unknown) => e instanceof NotFound && (e as Error).message === 'Could not find the file /nope in container c1');
  await assert.rejects(extractToPath(root, '/data/a.txt', tarOf([])), (e: unknown) => e instanceof InvalidParameter && (e as Error).message === 'extraction point is not a directory');
  await assert.rejects(extractToPath(root, '/data', tarOf([{ name: 'sub', type: 'file', body: 'x' }]), { noOverwriteDirNonDir: true }), /cannot overwrite directory/);
  await assert.rejects(extractToPath(root, '/data', tarOf([{ name: 'a.txt', type: 'dir' }]), { noOverwriteDirNonDir: true }), /cannot overwrite non-directory/);
  await extractToPath(root, '/data', tarOf([{ name: 'a.txt', type: 'file', body: 'replaced' }]), { noOverwriteDirNonDir: true });
  assert.equal(readFileSync(join(root, 'data/a.txt'), 'utf8'), 'replaced');
  await extractToPath(root, '/data', tarOf([{ name: 'gz.txt', type: 'file', body: 'gzipped' }]).pipe(createGzip()));
  assert.equal(readFileSync(join(root, 'data/gz.txt'), 'utf8'), 'gzipped');
  assert.deepEqual(readFileSync(join(host, 'secret'), 'utf8'), 'host secret');
  assert.deepEqual(existsSync(join(host, 'evil')), false);
});
