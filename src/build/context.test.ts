import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { BuildContext } from './context.js';
import type { CopySource } from './copy.js';

/**
 * A context held in memory gives the same Dockerfile, sources, hashes and (once written out)
 * files as the same tar extracted to disk, which is what a context too large for memory gets.
 * The tars are made by GNU tar from real directories.
 */

let dir: string;
let tmp: string;
let src: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-context-'));
  tmp = join(dir, 'tmp');
  src = join(dir, 'src');
  await mkdir(tmp);
  await mkdir(join(src, 'data/sub/deeper'), { recursive: true });
  await mkdir(join(src, 'empty'));
  await mkdir(join(src, 'private'), { mode: 0o700 });
  await writeFile(join(src, 'Dockerfile'), 'FROM busybox\nCOPY . /\n');
  await writeFile(join(src, 'a.txt'), 'a\n');
  await writeFile(join(src, 'b.txt'), 'bb\n');
  await writeFile(join(src, 'zero'), '');
  await writeFile(join(src, 'data/one'), '1');
  await writeFile(join(src, 'data/sub/two'), '2'.repeat(100_000));
  await writeFile(join(src, 'data/sub/deeper/three.txt'), '3');
  await writeFile(join(src, 'private/key'), 'k');
  await writeFile(join(src, 'tool'), '#!/bin/sh\n');
  await chmod(join(src, 'tool'), 0o4755);
  await chmod(join(src, 'private/key'), 0o600);
  await chmod(join(src, 'data/sub'), 0o750);
  await chmod(join(src, 'private'), 0o700);
});

after(async () => { await rm(dir, { recursive: true, force: true }); });

function tarOf(root: string, args: string[] = ['.']): Buffer {
  return execFileSync('tar', ['-C', root, '-cf', '-', ...args], { maxBuffer: 64 << 20 });
}

/** The tar in chunks of 64 KiB, as a request body arrives. */
const body = (tar: Buffer) => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < tar.length; i += 65536) chunks.push(tar.subarray(i, i + 65536));
  return Readable.from(chunks);
};

const PATTERNS = [
  ['.'], ['data'], ['data/'], ['data/sub/two'], ['*.txt'], ['d*'], ['data/*'], ['data/sub/*/three.txt'],
  ['a.txt', 'b.txt'], ['a.txt', 'data'], ['a/../a.txt'], ['/data/one'], ['nope'], ['a.txt/x'], ['../x'], ['zero'],
  ['tool'], ['private'], ['empty'], ['[ab].txt'], ['Dockerfile'],
];

/** What a list of sources resolves to, with the host path relative to the context's root. */
async function resolved(ctx: BuildContext, list: string[]): Promise<unknown> {
  try {
    const s: CopySource[] = await ctx.sources(list);
    return s.map((x) => ({ path: x.path, dir: x.dir, hash: x.hash, host: posix.relative(ctx.root, x.host) }));
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Every entry under `root`: type, permission bits, owner and content, by path. */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = await lstat(p);
      const bits = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[r] = `dir ${bits} ${st.uid}:${st.gid}`;
        await walk(p, r);
      } else out[r] = `file ${bits} ${st.uid}:${st.gid} ${(await readFile(p)).toString('base64')}`;
    }
  };
  await walk(root, '');
  return out;
}

async function both(tar: Buffer): Promise<[BuildContext, BuildContext]> {
  const mem = await BuildContext.fromTar(body(tar), tmp);
  const disk = await BuildContext.fromTar(body(tar), tmp, { memoryLimit: 0 });
  return [mem, disk];
}

test('a small context of files and directories stays in memory and resolves every source as the extracted one does', async () => {
  for (const tar of [tarOf(src), tarOf(src, ['Dockerfile', 'a.txt', 'b.txt', 'zero', 'tool', 'data', 'empty', 'private']),
    execFileSync('gzip', ['-c'], { input: tarOf(src) })]) {
    const [mem, disk] = await both(tar);
    try {
      assert.equal(mem.inMemory, true);
      assert.equal(disk.inMemory, false);
      assert.deepEqual(await readdir(tmp), [posix.basename(disk.root)], 'nothing of the memory context is on disk');
      assert.deepEqual(await mem.dockerfile(''), await disk.dockerfile(''));
      for (const list of PATTERNS) assert.deepEqual(await resolved(mem, list), await resolved(disk, list), list.join(' '));
      // Written out, it is the same tree as the extracted one.
      await mem.materialize();
      assert.equal(mem.inMemory, false);
      assert.deepEqual(await tree(mem.root), await tree(disk.root));
      assert.deepEqual(await resolved(mem, ['.']), await resolved(disk, ['.']));
    } finally {
      await mem.close();
      await disk.close();
    }
  }
  assert.deepEqual(await readdir(tmp), [], 'closed contexts leave nothing');
});

test('the Dockerfile: the lower-case fallback, a missing one, and .dockerignore taking it out of the sources', async () => {
  const ctxDir = join(dir, 'ignore');
  await mkdir(join(ctxDir, 'sub'), { recursive: true });
  await writeFile(join(ctxDir, 'dockerfile'), 'FROM busybox\n');
  await writeFile(join(ctxDir, 'sub/Dockerfile.x'), 'FROM scratch\n');
  await writeFile(join(ctxDir, '.dockerignore'), 'dockerfile\nsub/Dockerfile.x\n.dockerignore\n');
  await writeFile(join(ctxDir, 'kept'), 'kept');
  for (const name of ['', 'sub/Dockerfile.x', 'sub/../dockerfile', 'missing', 'sub']) {
    const [mem, disk] = await both(tarOf(ctxDir));
    try {
      const read = async (c: BuildContext) => c.dockerfile(name).catch((err: Error) => `error: ${err.message}`);
      assert.deepEqual(await read(mem), await read(disk), name);
      assert.equal(mem.inMemory, true);
      for (const list of [['.'], ['dockerfile'], ['sub'], ['.dockerignore'], ['kept']]) {
        assert.deepEqual(await resolved(mem, list), await resolved(disk, list), `${name}: ${list.join(' ')}`);
      }
      await mem.materialize();
      assert.deepEqual(await tree(mem.root), await tree(disk.root), name);
    } finally {
      await mem.close();
      await disk.close();
    }
  }
});

test('a context with a symlink, a hard link, an unnamed directory, or more than the memory limit goes to disk, with the same results', async () => {
  const linked = join(dir, 'linked');
  await mkdir(linked);
  await writeFile(join(linked, 'Dockerfile'), 'FROM busybox\n');
  await writeFile(join(linked, 'f'), 'f');
  await symlink('f', join(linked, 'alias'));
  const hard = join(dir, 'hard');
  await mkdir(hard);
  await writeFile(join(hard, 'Dockerfile'), 'FROM busybox\n');
  await writeFile(join(hard, 'f'), 'f');
  execFileSync('ln', [join(hard, 'f'), join(hard, 'g')]);
  // A tar that names a file but not its directory (GNU tar given the file's path) goes to disk too:
  // the directory's mode is then what extraction makes of it.
  for (const [tar, limit] of [[tarOf(linked), undefined], [tarOf(hard), undefined], [tarOf(src), 50_000], [tarOf(src, ['Dockerfile', 'data/one']), undefined]] as const) {
    const ctx = await BuildContext.fromTar(body(tar), tmp, limit === undefined ? {} : { memoryLimit: limit });
    const disk = await BuildContext.fromTar(body(tar), tmp, { memoryLimit: 0 });
    try {
      assert.equal(ctx.inMemory, false);
      assert.equal((await stat(ctx.root)).isDirectory(), true);
      for (const list of [['.'], ['f'], ['alias'], ['data'], ['data/one']]) assert.deepEqual(await resolved(ctx, list), await resolved(disk, list));
    } finally {
      await ctx.close();
      await disk.close();
    }
  }
  assert.deepEqual(await readdir(tmp), []);
});

test('a hash follows content and mode, not times: same size and mtime but new bytes differ, a touch does not', async () => {
  const c = join(dir, 'hashes');
  await mkdir(join(c, 'd'), { recursive: true });
  await writeFile(join(c, 'd/f'), 'abc');
  const hashes = async () => {
    const [mem, disk] = await both(tarOf(c));
    try {
      const m = await resolved(mem, ['d']);
      assert.deepEqual(m, await resolved(disk, ['d']));
      assert.deepEqual(await resolved(mem, ['d/f']), await resolved(disk, ['d/f']));
      return JSON.stringify([m, await resolved(mem, ['d/f'])]);
    } finally {
      await mem.close();
      await disk.close();
    }
  };
  const first = await hashes();
  const when = new Date('2020-01-02T03:04:05Z');
  await utimes(join(c, 'd/f'), new Date(), new Date());
  assert.equal(await hashes(), first, 'touched, unchanged');
  await writeFile(join(c, 'd/f'), 'abd');
  await utimes(join(c, 'd/f'), when, when);
  const changed = await hashes();
  assert.notEqual(changed, first, 'same size, new content');
  await writeFile(join(c, 'd/f'), 'abc');
  await utimes(join(c, 'd/f'), when, when);
  assert.equal(await hashes(), first, 'content back');
  await chmod(join(c, 'd/f'), 0o755);
  assert.notEqual(await hashes(), first, 'mode changed');
});

test('a body that is not a tar fails as extraction to disk fails, and leaves nothing', async () => {
  const junk = Buffer.alloc(1024, 7);
  const errOf = (p: Promise<BuildContext>) => p.then(async (c) => { await c.close(); return 'ok'; }, (err: Error) => `error: ${err.message}`);
  const mem = await errOf(BuildContext.fromTar(body(junk), tmp));
  const disk = await errOf(BuildContext.fromTar(body(junk), tmp, { memoryLimit: 0 }));
  assert.equal(mem, disk);
  assert.match(mem, /^error: /);
  assert.deepEqual(await readdir(tmp), []);
});
