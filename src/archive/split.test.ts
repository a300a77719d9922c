import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { SystemError } from '../lib/errors.js';
import { readTar } from './reader.js';
import { SplitRecorder, assemble, layerPath, splitSize } from './split.js';
import { chunked, collect, have, run, sha256, streamSha256, tempDir } from './testing.js';
import { tarStream, type EntryInput } from './writer.js';

/**
 * What applying a layer does, reduced to what the split needs: record every entry, write
 * regular files' bodies under root at their layer path.
 */
async function applyAndRecord(input: Readable, root: string, recorder = new SplitRecorder()): Promise<SplitRecorder> {
  for await (const e of readTar(input, { onTrailer: (b) => recorder.trailer(b) })) {
    await recorder.entry(e);
    const path = join(root, layerPath(e.header.name));
    if (e.header.type === 'dir') {
      mkdirSync(path, { recursive: true });
    } else if (e.header.type === 'file') {
      mkdirSync(dirname(path), { recursive: true });
      await pipeline(e.body, createWriteStream(path));
    }
  }
  return recorder;
}

function opener(root: string): (p: string) => Promise<Readable> {
  return async (p) => createReadStream(join(root, p));
}

async function roundTrip(tar: Buffer, root: string, chunk = 7777): Promise<string> {
  const split = await (await applyAndRecord(chunked(tar, chunk), root)).toBuffer();
  return (await streamSha256(assemble(split, opener(root)))).digest;
}

const T = new Date(1_650_000_000_000);

async function variedTar(): Promise<Buffer> {
  const entries: Array<[EntryInput, Buffer?]> = [
    [{ name: 'etc', type: 'dir', mtime: T }],
    [{ name: 'etc/hostname', type: 'file', mtime: T }, Buffer.from('box\n')],
    [{ name: 'etc/empty', type: 'file', mtime: T }, Buffer.alloc(0)],
    [{ name: 'etc/' + 'a'.repeat(110), type: 'file', mtime: T }, Buffer.from('over 100')],
    [{ name: 'etc/' + 'b'.repeat(130) + '/' + 'c'.repeat(140), type: 'file', mtime: T }, Buffer.from('over 255')],
    [{ name: 'etc/caps', type: 'file', mtime: T, xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0]) } }, Buffer.from('x')],
    [{ name: 'etc/hard', type: 'link', linkname: 'etc/hostname', mtime: T }],
    [{ name: 'etc/soft', type: 'symlink', linkname: 'hostname', mtime: T }],
    [{ name: 'etc/ids', type: 'file', uid: 100_000_000, gid: 3_000_000_000, mtime: T }, Buffer.from('ids')],
    [{ name: 'dev', type: 'dir', mtime: T }],
    [{ name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mtime: T }],
    [{ name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mtime: T }],
    [{ name: 'dev/huge', type: 'char', devmajor: 3_000_000, devminor: 5, mtime: T }],
    [{ name: 'dev/fifo', type: 'fifo', mtime: T }],
    [{ name: 'big', type: 'file', mtime: T }, randomBytes(3 * 1024 * 1024 + 17)],
    [{ name: 'etc/.wh.removed', type: 'file', mtime: T }, Buffer.alloc(0)],
  ];
  return collect(tarStream(async (w) => {
    for (const [h, b] of entries) await w.addEntry(h, b);
  }));
}

describe('split and assemble', () => {
  it('rebuilds a tar with every kind of entry byte for byte', async (t) => {
    const root = tempDir(t);
    const tar = await variedTar();
    assert.equal(await roundTrip(tar, root), sha256(tar));
  });

  it('records headers verbatim, files by layer path and size, as gzipped JSON lines', async (t) => {
    const root = tempDir(t);
    const tar = await variedTar();
    const split = await (await applyAndRecord(chunked(tar, 65536), root)).toBuffer();
    const lines = gunzipSync(split).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { v: 1 });
    const files = lines.filter((l) => 'f' in l);
    assert.deepEqual(files.map((f) => f['f']), [
      'etc/hostname',
      'etc/' + 'a'.repeat(110),
      'etc/' + 'b'.repeat(130) + '/' + 'c'.repeat(140),
      'etc/caps',
      'etc/ids',
      'big',
    ]);
    assert.equal(files.at(-1)!['s'], 3 * 1024 * 1024 + 17);
    const raw = lines.filter((l) => 'r' in l).map((l) => Buffer.from(l['r'] as string, 'base64'));
    const rawLength = raw.reduce((n, b) => n + b.length, 0);
    assert.equal(rawLength + files.reduce((n, f) => n + (f['s'] as number), 0), tar.length);
    assert.equal(await splitSize(split), tar.length);
    // The split is small next to the tar: no body is in it.
    assert.ok(split.length < 4096, `split is ${split.length} bytes`);
  });

  it('survives any chunking of the input', async (t) => {
    const tar = await variedTar();
    for (const chunk of [1000, 512, 65536 * 3 + 1]) {
      const root = tempDir(t);
      assert.equal(await roundTrip(tar, root, chunk), sha256(tar), `chunks of ${chunk}`);
    }
  });

  for (const format of ['gnu', 'oldgnu', 'pax', 'posix', 'ustar', 'v7']) {
    it(`rebuilds a tar made by GNU tar --format=${format}`, async (t) => {
      const src = tempDir(t);
      const d = join(src, 'd');
      mkdirSync(join(d, 'sub'), { recursive: true });
      writeFileSync(join(d, 'sub', 'big'), randomBytes(3 * 1024 * 1024 + 5));
      writeFileSync(join(d, 'small'), 'small\n');
      writeFileSync(join(d, 'empty'), '');
      run('ln', ['-s', 'small', join(d, 'sym')]);
      run('ln', [join(d, 'small'), join(d, 'hard')]);
      if (format !== 'v7') {
        run('mkfifo', [join(d, 'fifo')]);
        run('mknod', [join(d, 'null'), 'c', '1', '3']);
        const deep = join(d, 'p'.repeat(80), 'q'.repeat(70));
        mkdirSync(deep, { recursive: true });
        writeFileSync(join(deep, 'f'), 'deep');
      }
      if (format !== 'v7' && format !== 'ustar') {
        const deeper = join(d, 'x'.repeat(120), 'y'.repeat(150));
        mkdirSync(deeper, { recursive: true });
        writeFileSync(join(deeper, 'z'), 'deeper');
      }
      run('tar', [`--format=${format}`, '--sort=name', '-cf', 'out.tar', 'd'], src);
      const tar = readFileSync(join(src, 'out.tar'));
      const root = tempDir(t);
      assert.equal(await roundTrip(tar, root), sha256(tar));
    });
  }

  it('rebuilds a tar made by busybox tar', { skip: !have('busybox') && 'busybox is not installed' }, async (t) => {
    const src = tempDir(t);
    const d = join(src, 'd');
    mkdirSync(join(d, 'x'.repeat(120), 'y'.repeat(150)), { recursive: true });
    writeFileSync(join(d, 'x'.repeat(120), 'y'.repeat(150), 'f'), randomBytes(100_000));
    writeFileSync(join(d, 'f'), 'f');
    run('ln', ['-s', 'f', join(d, 'sym')]);
    run('ln', [join(d, 'f'), join(d, 'hard')]);
    run('busybox', ['tar', '-cf', 'out.tar', 'd'], src);
    const tar = readFileSync(join(src, 'out.tar'));
    const root = tempDir(t);
    assert.equal(await roundTrip(tar, root), sha256(tar));
  });

  it('keeps non-zero padding and junk after the end of the archive', async (t) => {
    const good = await collect(tarStream((w) => w.addEntry({ name: 'f', type: 'file' }, Buffer.from('abc'))));
    const tar = Buffer.from(good);
    tar.fill(0x55, 512 + 3, 1024); // garbage in the padding
    const junk = Buffer.concat([tar, Buffer.from('trailing junk')]);
    const root = tempDir(t);
    assert.equal(await roundTrip(junk, root), sha256(junk));
    // And an archive that just stops after its last entry.
    const cut = good.subarray(0, 1024);
    assert.equal(await roundTrip(cut, tempDir(t)), sha256(cut));
  });

  it('fails when a file on disk does not have the recorded size', async (t) => {
    const root = tempDir(t);
    const tar = await variedTar();
    const split = await (await applyAndRecord(chunked(tar, 65536), root)).toBuffer();
    writeFileSync(join(root, 'etc/hostname'), 'box\n\n');
    await assert.rejects(collect(assemble(split, opener(root))), (err: Error) => {
      assert.ok(err instanceof SystemError, String(err));
      assert.match(err.message, /etc\/hostname/);
      return true;
    });
    writeFileSync(join(root, 'etc/hostname'), 'bo');
    await assert.rejects(collect(assemble(split, opener(root))), /etc\/hostname has 2 bytes, 4 recorded/);
  });

  it('streams the split to a file, and assembles from the file', async (t) => {
    const root = tempDir(t);
    const work = tempDir(t);
    const tar = await variedTar();
    const recorder = new SplitRecorder(createWriteStream(join(work, 'tar-split.json.gz')));
    await applyAndRecord(chunked(tar, 65536), root, recorder);
    await recorder.finish();
    assert.equal(await splitSize(join(work, 'tar-split.json.gz')), tar.length);
    const out = assemble(createReadStream(join(work, 'tar-split.json.gz')), opener(root));
    assert.equal((await streamSha256(out)).digest, sha256(tar));
  });

  it('reports a failing output instead of hanging', async (t) => {
    const root = tempDir(t);
    const out = new Writable({ write: (_c, _e, cb) => cb(new Error('disk full')) });
    const recorder = new SplitRecorder(out);
    const tar = await variedTar();
    await assert.rejects(async () => {
      await applyAndRecord(chunked(tar, 65536), root, recorder);
      await recorder.finish();
    }, /disk full/);
  });

  it('refuses a split that is not one', async () => {
    await assert.rejects(collect(assemble(Buffer.from('plain text'), async () => Readable.from([]))), SystemError);
  });

  it('maps entry names to paths inside the layer', () => {
    assert.equal(layerPath('./etc/passwd'), 'etc/passwd');
    assert.equal(layerPath('/abs//x/'), 'abs/x');
    assert.equal(layerPath('../../escape'), 'escape');
    assert.equal(layerPath('a/./b/../c'), 'a/c');
  });
});
