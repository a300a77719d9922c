import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copySources, goMatch, resolveSources, sourcesHash } from './copy.js';

let dir: string;
let ctx: string;
const none = () => false;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-copy-'));
  ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'src/sub'), { recursive: true });
  await writeFile(join(ctx, 'a.txt'), 'a');
  await writeFile(join(ctx, 'b.txt'), 'b');
  await writeFile(join(ctx, 'src/one'), '1');
  await writeFile(join(ctx, 'src/sub/two'), '2');
  await symlink('/etc/passwd', join(ctx, 'escape'));
  await symlink('a.txt', join(ctx, 'alias'));
});

after(async () => { await rm(dir, { recursive: true, force: true }); });

test('goMatch is filepath.Match on one path', () => {
  assert.ok(goMatch('*.txt', 'a.txt'));
  assert.ok(!goMatch('*.txt', 'dir/a.txt'));
  assert.ok(goMatch('src/*', 'src/one'));
  assert.ok(goMatch('[ab].txt', 'b.txt'));
  assert.ok(!goMatch('[^ab].txt', 'b.txt'));
  assert.ok(goMatch('?.txt', 'a.txt'));
});

test('sources: wildcards, hashes that follow content, links resolved inside the context', async () => {
  const wild = await resolveSources(ctx, ['*.txt'], none);
  assert.deepEqual(wild.map((s) => s.path), ['a.txt', 'b.txt']);
  assert.match(wild[0]!.hash, /^file:[0-9a-f]{64}$/);
  assert.match(sourcesHash(wild), /^multi:[0-9a-f]{64}$/);
  const [d] = await resolveSources(ctx, ['src'], none);
  assert.match(d!.hash, /^dir:[0-9a-f]{64}$/);
  await writeFile(join(ctx, 'src/sub/two'), 'changed');
  const [d2] = await resolveSources(ctx, ['src'], none);
  assert.notEqual(d2!.hash, d!.hash);
  const [alias] = await resolveSources(ctx, ['alias'], none);
  assert.equal(alias!.hash, wild[0]!.hash);
  await assert.rejects(resolveSources(ctx, ['escape'], none), /file not found in build context/);
  await assert.rejects(resolveSources(ctx, ['a.txt'], (r) => r === 'a.txt'), /excluded by \.dockerignore/);
  await assert.rejects(resolveSources(ctx, ['../x'], none), /forbidden path outside the build context: \.\.\/x \(\)/);
});

test('copy: a directory\'s contents, a file into a directory or to a name, ownership 0:0 or --chown', async () => {
  const root = join(dir, 'root');
  await mkdir(join(root, 'existing'), { recursive: true });
  const [d] = await resolveSources(ctx, ['src'], none);
  await copySources(root, [d!], '/dst', '/dst', { uid: 0, gid: 0 }, { decompress: false, cmd: 'COPY', excluded: none });
  assert.deepEqual((await readdir(join(root, 'dst'))).sort(), ['one', 'sub']);
  const [f] = await resolveSources(ctx, ['a.txt'], none);
  await copySources(root, [f!], '/existing', '/existing', { uid: 0, gid: 0 }, { decompress: false, cmd: 'COPY', excluded: none });
  assert.equal(await readFile(join(root, 'existing/a.txt'), 'utf8'), 'a');
  await copySources(root, [f!], '/new/name.txt', '/new/name.txt', { uid: 1234, gid: 99 }, { decompress: false, cmd: 'COPY', excluded: none });
  const st = await stat(join(root, 'new/name.txt'));
  assert.equal(`${st.uid}:${st.gid}`, '1234:99');
  assert.equal((await stat(join(root, 'new'))).uid, 1234);
  const two = await resolveSources(ctx, ['a.txt', 'b.txt'], none);
  await assert.rejects(copySources(root, two, '/file', '/file', { uid: 0, gid: 0 }, { decompress: false, cmd: 'COPY', excluded: none }),
    /When using COPY with more than one source file, the destination must be a directory and end with a \//);
  // A link in the destination pointing out of the root is followed inside it.
  await symlink('/', join(root, 'out'));
  await copySources(root, [f!], '/out/tmp-here/', '/out/tmp-here', { uid: 0, gid: 0 }, { decompress: false, cmd: 'COPY', excluded: none });
  assert.equal(await readFile(join(root, 'tmp-here/a.txt'), 'utf8'), 'a');
});
