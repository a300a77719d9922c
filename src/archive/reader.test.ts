import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { InvalidParameter } from '../lib/errors.js';
import { BLOCK, computeChecksum, field, formatPaxRecord, sealBlock, writeNumeric, writeOctal, writeString } from './header.js';
import { readTar } from './reader.js';
import { chunked, collect, have, readAll, rejoin, run, sha256, tempDir, type ReadEntry } from './testing.js';
import { encodeHeader, tarStream } from './writer.js';

const LONG_DIR = 'x'.repeat(120);
const LONG_FILE = 'y'.repeat(150);
const SPLIT_DIR = 'a'.repeat(60) + '/' + 'b'.repeat(60);

interface Expected {
  type: string;
  mode: number;
  size: number;
  linkname?: string;
  content?: string;
  mtimeNs: bigint;
  devmajor?: number;
  devminor?: number;
}

/** A tree with one of everything; `long` adds a path GNU and PAX can hold but ustar cannot. */
function makeTree(root: string, opts: { long: boolean; devices: boolean; split?: boolean }): void {
  const d = join(root, 'd');
  mkdirSync(d, { mode: 0o755 });
  writeFileSync(join(d, 'file.txt'), 'hello\n', { mode: 0o640 });
  writeFileSync(join(d, 'exec.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(d, 'empty'), '');
  writeFileSync(join(d, 'big'), Buffer.alloc(300_123, 'q'));
  spawnSync('chmod', ['4755', join(d, 'exec.sh')]);
  symlinkSync('file.txt', join(d, 'link'));
  linkSync(join(d, 'file.txt'), join(d, 'hard'));
  if (opts.split ?? true) {
    mkdirSync(join(d, SPLIT_DIR), { recursive: true });
    writeFileSync(join(d, SPLIT_DIR, 'g'), 'split\n');
  }
  if (opts.long) {
    mkdirSync(join(d, LONG_DIR, LONG_FILE), { recursive: true });
    writeFileSync(join(d, LONG_DIR, LONG_FILE, 'f'), 'deep\n');
  }
  if (opts.devices) {
    run('mkfifo', [join(d, 'fifo')]);
    run('mknod', [join(d, 'cdev'), 'c', '1', '3']);
    run('mknod', [join(d, 'bdev'), 'b', '7', '0']);
  }
}

/** What the archive should say about each path under root, from lstat. */
function expectTree(root: string): Map<string, Expected> {
  const out = new Map<string, Expected>();
  const seen = new Map<bigint, string>();
  const walk = (rel: string): void => {
    const st = lstatSync(join(root, rel), { bigint: true });
    const base: Pick<Expected, 'mode' | 'mtimeNs'> = { mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs };
    if (st.isDirectory()) {
      out.set(rel + '/', { ...base, type: 'dir', size: 0 });
      for (const n of readdirSync(join(root, rel)).sort()) walk(`${rel}/${n}`);
    } else if (st.isSymbolicLink()) {
      out.set(rel, { ...base, type: 'symlink', size: 0, linkname: readlinkSync(join(root, rel)) });
    } else if (st.isFile()) {
      const first = seen.get(st.ino);
      if (first !== undefined && st.nlink > 1n) {
        out.set(rel, { ...base, type: 'link', size: 0, linkname: first });
      } else {
        seen.set(st.ino, rel);
        const content = readFileSync(join(root, rel));
        out.set(rel, { ...base, type: 'file', size: content.length, content: sha256(content) });
      }
    } else if (st.isFIFO()) {
      out.set(rel, { ...base, type: 'fifo', size: 0 });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = Number(st.rdev);
      out.set(rel, {
        ...base,
        type: st.isCharacterDevice() ? 'char' : 'block',
        size: 0,
        devmajor: (rdev >> 8) & 0xfff,
        devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
      });
    }
  };
  walk('d');
  return out;
}

function checkAgainst(entries: ReadEntry[], expected: Map<string, Expected>, opts: { subsecond: boolean }): void {
  assert.deepEqual(
    entries.map((e) => e.header.name),
    [...expected.keys()],
  );
  for (const e of entries) {
    const want = expected.get(e.header.name)!;
    const h = e.header;
    const what = `${h.name}`;
    assert.equal(h.type, want.type, what);
    assert.equal(h.mode & 0o7777, want.mode, what);
    assert.equal(h.size, want.size, what);
    assert.equal(e.body.length, want.size, what);
    assert.equal(h.linkname, want.linkname ?? '', what);
    if (want.content) assert.equal(sha256(e.body), want.content, what);
    assert.equal(h.mtime.getTime(), Number(want.mtimeNs / 1_000_000_000n) * 1000 + (opts.subsecond ? Number((want.mtimeNs / 1_000_000n) % 1000n) : 0), what);
    if (opts.subsecond) assert.equal(h.mtimeNs, want.mtimeNs, what);
    if (want.devmajor !== undefined) {
      assert.equal(h.devmajor, want.devmajor, what);
      assert.equal(h.devminor, want.devminor, what);
    }
    assert.equal(h.uid, 1234, what);
    assert.equal(h.gid, 5678, what);
    assert.equal(e.padding.length, (512 - (want.size % 512)) % 512, what);
    assert.ok(e.padding.every((b) => b === 0), what);
  }
}

describe('readTar on archives made by GNU tar and busybox', () => {
  const formats = [
    { format: 'gnu', long: true, devices: true, subsecond: false },
    { format: 'oldgnu', long: true, devices: true, subsecond: false },
    { format: 'pax', long: true, devices: true, subsecond: true },
    { format: 'ustar', long: false, devices: true, subsecond: false },
    { format: 'v7', long: false, devices: false, subsecond: false, split: false },
  ];
  for (const f of formats) {
    it(`reads --format=${f.format} entry by entry, and the bytes join back to the file`, async (t) => {
      const dir = tempDir(t);
      makeTree(dir, f);
      const tarFile = join(dir, 'out.tar');
      const owner = f.format === 'v7' ? ['--owner=1234', '--group=5678'] : ['--owner=alice:1234', '--group=staff:5678'];
      run('tar', [`--format=${f.format}`, '--sort=name', ...owner, '-cf', tarFile, 'd'], dir);
      const bytes = readFileSync(tarFile);
      const r = await readAll(bytes);
      checkAgainst(r.entries, expectTree(dir), f);
      if (f.format !== 'v7') {
        assert.equal(r.entries[0]!.header.uname, 'alice');
        assert.equal(r.entries[0]!.header.gname, 'staff');
      }
      // The exec.sh setuid bit survives.
      assert.equal(r.entries.find((e) => e.header.name === 'd/exec.sh')!.header.mode & 0o7777, 0o4755);
      // GNU tar pads to a 10240-byte record: the trailer holds the zero blocks and the rest.
      assert.equal(bytes.length % 10240, 0);
      assert.ok(r.trailer.length >= 1024 && r.trailer.every((b) => b === 0));
      assert.equal(sha256(rejoin(r)), sha256(bytes));
    });
  }

  it('reads busybox tar output', { skip: !have('busybox') && 'busybox is not installed' }, async (t) => {
    const dir = tempDir(t);
    makeTree(dir, { long: true, devices: true });
    run('chown', ['-hR', '1234:5678', join(dir, 'd')]);
    const tarFile = join(dir, 'bb.tar');
    run('busybox', ['tar', '-cf', tarFile, 'd'], dir);
    const bytes = readFileSync(tarFile);
    const r = await readAll(bytes);
    const expected = expectTree(dir);
    // busybox walks in directory order: compare as sets, and hard links may point either way.
    assert.deepEqual(new Set(r.entries.map((e) => e.header.name)), new Set(expected.keys()));
    for (const e of r.entries) {
      const want = expected.get(e.header.name)!;
      if (want.type === 'link' || (want.type === 'file' && e.header.type === 'link')) continue;
      assert.equal(e.header.type, want.type, e.header.name);
      assert.equal(e.header.mode & 0o7777, want.mode, e.header.name);
      assert.equal(e.header.size, want.size, e.header.name);
      assert.equal(e.header.uid, 1234);
      if (want.content) assert.equal(sha256(e.body), want.content, e.header.name);
      if (want.linkname) assert.equal(e.header.linkname, want.linkname);
    }
    assert.equal(sha256(rejoin(r)), sha256(bytes));
  });

  it('reads base-256 numbers (GNU) and PAX ids beyond octal range', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'x');
    for (const format of ['gnu', 'pax']) {
      const tarFile = join(dir, `${format}.tar`);
      run('tar', [`--format=${format}`, '--owner=big:3000000', '--group=huge:4000000000', '-cf', tarFile, 'f'], dir);
      const bytes = readFileSync(tarFile);
      if (format === 'gnu') assert.ok((bytes[108]! & 0x80) !== 0, 'uid is base-256');
      const { entries } = await readAll(bytes);
      assert.equal(entries[0]!.header.uid, 3_000_000, format);
      assert.equal(entries[0]!.header.gid, 4_000_000_000, format);
      assert.equal(entries[0]!.header.uname, 'big');
    }
  });

  it('reads SCHILY.xattr records as bytes (GNU tar --xattrs)', { skip: !have('python3') && 'python3 is not installed' }, async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'f');
    writeFileSync(f, 'data');
    const set = spawnSync('python3', [
      '-c',
      'import os,sys; os.setxattr(sys.argv[1], "user.bin", b"\\x00\\x01=\\n\\xff"); os.setxattr(sys.argv[1], "user.text", b"hello")',
      f,
    ]);
    if (set.status !== 0) return t.skip('xattrs are not supported here');
    const tarFile = join(dir, 'x.tar');
    run('tar', ['--format=pax', '--xattrs', '--xattrs-include=user.*', '-cf', tarFile, 'f'], dir);
    const { entries } = await readAll(readFileSync(tarFile));
    const h = entries[0]!.header;
    assert.deepEqual(h.xattrs['user.bin'], Buffer.from([0, 1, 0x3d, 0x0a, 0xff]));
    assert.deepEqual(h.xattrs['user.text'], Buffer.from('hello'));
    assert.equal(h.pax['SCHILY.xattr.user.text'], 'hello');
  });

  it('refuses sparse files, GNU and PAX', async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'sparse');
    run('truncate', ['-s', '10M', f]);
    writeFileSync(f, 'end', { flag: 'a' });
    for (const format of ['gnu', 'pax']) {
      const tarFile = join(dir, `${format}.tar`);
      run('tar', [`--format=${format}`, '--sparse', '-cf', tarFile, 'sparse'], dir);
      await assert.rejects(readAll(readFileSync(tarFile)), (err: Error) => {
        assert.ok(err instanceof InvalidParameter, String(err));
        assert.match(err.message, /unsupported sparse file/);
        return true;
      });
    }
  });
});

/** A header block built by hand, for what no tool writes on purpose. */
function block(fields: { name: string; type?: string; size?: number; magic?: 'ustar' | 'gnu' }): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(field(b, 'name'), Buffer.from(fields.name));
  writeOctal(field(b, 'mode'), 0o644);
  writeOctal(field(b, 'uid'), 0);
  writeOctal(field(b, 'gid'), 0);
  writeOctal(field(b, 'size'), fields.size ?? 0);
  writeOctal(field(b, 'mtime'), 1_700_000_000);
  b[156] = (fields.type ?? '0').charCodeAt(0);
  sealBlock(b, fields.magic ?? 'ustar');
  return b;
}

function reseal(b: Buffer): Buffer {
  const [sum] = computeChecksum(b);
  writeOctal(field(b, 'chksum').subarray(0, 7), sum);
  return b;
}

const trailer = Buffer.alloc(1024);
const rec = (k: string, v: string): Buffer => formatPaxRecord(k, Buffer.from(v));

describe('readTar edge cases', () => {
  it('refuses a bad checksum with InvalidParameter', async () => {
    const b = block({ name: 'f', size: 3 });
    b[0] = 'g'.charCodeAt(0);
    const tar = Buffer.concat([b, Buffer.from('abc'), Buffer.alloc(509), trailer]);
    await assert.rejects(readAll(tar), (err: Error) => err instanceof InvalidParameter && /checksum/.test(err.message));
  });

  it('accepts a signed checksum, as old tars computed it', async () => {
    const b = block({ name: 'caf\u00e9', size: 0 });
    const [, signed] = computeChecksum(b);
    writeOctal(field(b, 'chksum').subarray(0, 7), signed);
    const { entries } = await readAll(Buffer.concat([b, trailer]));
    assert.equal(entries[0]!.header.name, 'café');
  });

  it('fails on truncated archives: in a header, in a body, in a PAX header', async () => {
    const good = await collect(tarStream(async (w) => {
      await w.addEntry({ name: 'a', type: 'file' }, Buffer.alloc(2000, 1));
      await w.addEntry({ name: 'p'.repeat(300), type: 'file' }, Buffer.from('x'));
    }));
    for (const cut of [100, 700, 2560 + 300, 2560 + 700]) {
      await assert.rejects(readAll(good.subarray(0, cut)), (err: Error) => {
        assert.ok(err instanceof InvalidParameter, `cut ${cut}: ${String(err)}`);
        assert.match(err.message, /unexpected EOF/);
        return true;
      });
    }
  });

  it('a truncated body also fails the body stream being read', async () => {
    const good = await collect(tarStream(async (w) => w.addEntry({ name: 'a', type: 'file' }, Buffer.alloc(100_000, 1))));
    const it = readTar(chunked(good.subarray(0, 50_000), 4096))[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    await assert.rejects(collect(first.value!.body), /unexpected EOF/);
    await assert.rejects(it.next(), /unexpected EOF/);
  });

  it('tolerates the end of the stream without zero blocks, or with one', async () => {
    const entry = Buffer.concat([block({ name: 'f', size: 1 }), Buffer.from('z'), Buffer.alloc(511)]);
    for (const tail of [Buffer.alloc(0), Buffer.alloc(512), Buffer.alloc(1024), Buffer.alloc(10240 - 1024)]) {
      const tar = Buffer.concat([entry, tail]);
      const r = await readAll(tar);
      assert.equal(r.entries.length, 1);
      assert.deepEqual(r.trailer, tail);
      assert.deepEqual(rejoin(r), tar);
    }
    assert.deepEqual((await readAll(Buffer.alloc(0))).entries, []);
  });

  it('keeps bytes after the end of archive in the trailer, refuses a zero block then a header', async () => {
    const entry = Buffer.concat([block({ name: 'f' })]);
    const junk = Buffer.concat([trailer, Buffer.from('not a tar at all')]);
    const r = await readAll(Buffer.concat([entry, junk]), {});
    assert.deepEqual(r.trailer, junk);
    await assert.rejects(readAll(Buffer.concat([entry, Buffer.alloc(512), block({ name: 'g' }), trailer])), InvalidParameter);
  });

  it('gives the trailer to onTrailer', async () => {
    const seen: Buffer[] = [];
    await readAll(Buffer.concat([block({ name: 'f' }), trailer]), { onTrailer: (b) => void seen.push(b) });
    assert.deepEqual(seen, [trailer]);
  });

  it('reads a "\\0" entry ending in "/" as a directory, "7" as a file, and refuses unknown types', async () => {
    const old = block({ name: 'olddir/', type: '\0' });
    const cont = block({ name: 'c', type: '7', size: 2 });
    const { entries } = await readAll(Buffer.concat([old, cont, Buffer.from('hi'), Buffer.alloc(510), trailer]));
    assert.deepEqual(
      entries.map((e) => [e.header.name, e.header.type, e.body.toString()]),
      [
        ['olddir/', 'dir', ''],
        ['c', 'file', 'hi'],
      ],
    );
    await assert.rejects(readAll(Buffer.concat([block({ name: 'v', type: 'V' }), trailer])), /unhandled tar header type/);
  });

  it('gives header-only types no body, whatever their size field says (as Go)', async () => {
    const link = block({ name: 'l', type: '1', size: 5 });
    const { entries } = await readAll(Buffer.concat([link, block({ name: 'next' }), trailer]));
    assert.deepEqual(entries.map((e) => [e.header.name, e.header.size]), [['l', 0], ['next', 0]]);
  });

  it('reads base-256 fields, negative ones included, and star headers', async () => {
    const b = block({ name: 'n', magic: 'gnu' });
    writeNumeric(field(b, 'uid'), 2 ** 40);
    writeNumeric(field(b, 'mtime'), -86_400);
    reseal(b);
    const { entries } = await readAll(Buffer.concat([b, trailer]));
    assert.equal(entries[0]!.header.uid, 2 ** 40);
    assert.equal(entries[0]!.header.mtime.getTime(), -86_400_000);

    const star = block({ name: 'name' });
    writeString(field(star, 'starPrefix'), Buffer.from('the/prefix'));
    writeOctal(field(star, 'starAtime'), 1_600_000_000);
    Buffer.from('tar\0', 'latin1').copy(star, 508);
    reseal(star);
    const s = await readAll(Buffer.concat([star, trailer]));
    assert.equal(s.entries[0]!.header.name, 'the/prefix/name');
    assert.equal(s.entries[0]!.header.atime?.getTime(), 1_600_000_000_000);
  });

  it('keeps a global PAX header in the raw bytes of the next entry, without applying it', async () => {
    const data = Buffer.concat([rec('comment', 'abcd'), rec('path', 'zzz')]);
    const g = Buffer.concat([block({ name: 'pax_global_header', type: 'g', size: data.length }), data, Buffer.alloc(512 - data.length)]);
    const f = block({ name: 'f' });
    const r = await readAll(Buffer.concat([g, f, trailer]));
    assert.equal(r.entries[0]!.header.name, 'f');
    assert.deepEqual(r.entries[0]!.header.pax, {});
    assert.deepEqual(r.entries[0]!.raw, Buffer.concat([g, f]));
    // With nothing after it, it goes to the trailer.
    const only = await readAll(Buffer.concat([g, trailer]));
    assert.deepEqual(only.trailer, Buffer.concat([g, trailer]));
  });

  it('parses PAX records: times with fractions, ids, binary values, and the last record wins', async () => {
    const data = Buffer.concat([
      Buffer.from('30 mtime=1700000000.123456789\n'),
      Buffer.from('20 atime=-1.5000000\n'),
      Buffer.from('12 uid=4242\n'),
      rec('path', 'first/name'),
      rec('path', 'final/name'),
      Buffer.from('26 SCHILY.xattr.user.a='),
      Buffer.from([0, 0xfe]),
      Buffer.from('\n'),
    ]);
    const x = Buffer.concat([block({ name: 'PaxHeaders.0/n', type: 'x', size: data.length }), data, Buffer.alloc(512 - (data.length % 512))]);
    const { entries } = await readAll(Buffer.concat([x, block({ name: 'n' }), trailer]));
    const h = entries[0]!.header;
    assert.equal(h.name, 'final/name');
    assert.equal(h.uid, 4242);
    assert.equal(h.mtimeNs, 1_700_000_000_123_456_789n);
    assert.equal(h.mtime.getTime(), 1_700_000_000_123);
    assert.equal(h.atime?.getTime(), -1500);
    assert.deepEqual(h.xattrs['user.a'], Buffer.from([0, 0xfe]));
    assert.equal(entries[0]!.raw.length, 3 * 512);
  });

  it('refuses malformed PAX records', async () => {
    for (const rec of ['11 path=abc', '99 path=abc\n', 'x path=abc\n', '9 noeq\n\n\n', '12 uid=12a\n']) {
      const data = Buffer.from(rec);
      const x = Buffer.concat([block({ name: 'x', type: 'x', size: data.length }), data, Buffer.alloc(512 - data.length)]);
      await assert.rejects(readAll(Buffer.concat([x, block({ name: 'n' }), trailer])), InvalidParameter, rec);
    }
  });

  it('skips what a consumer leaves unread, and ends a body read to its last byte normally', async () => {
    const tar = await collect(tarStream(async (w) => {
      await w.addEntry({ name: 'a', type: 'file' }, Buffer.alloc(300_000, 'a'));
      await w.addEntry({ name: 'b', type: 'file' }, Buffer.alloc(70_000, 'b'));
      await w.addEntry({ name: 'c', type: 'file' }, Buffer.from('c'));
    }));
    const names: string[] = [];
    const bodies: Readable[] = [];
    let partial: Buffer | undefined;
    for await (const e of readTar(chunked(tar, 16384))) {
      names.push(e.header.name);
      bodies.push(e.body);
      if (e.header.name === 'b') {
        // Take one chunk, leave the rest.
        for await (const c of e.body) {
          partial = c as Buffer;
          break;
        }
      }
      if (e.header.name === 'c') assert.equal((await collect(e.body)).toString(), 'c');
    }
    assert.deepEqual(names, ['a', 'b', 'c']);
    assert.ok(partial && partial.every((x) => x === 0x62));
    assert.ok(bodies[0]!.destroyed && bodies[1]!.destroyed);
  });

  it('stops reading the input when the loop breaks', async () => {
    const tar = await collect(tarStream(async (w) => {
      for (let i = 0; i < 10; i++) await w.addEntry({ name: `f${i}`, type: 'file' }, Buffer.alloc(10_000));
    }));
    const input = chunked(tar, 4096);
    for await (const e of readTar(input)) {
      if (e.header.name === 'f2') break;
    }
    assert.ok(input.destroyed);
  });

  it('streams a 50 MB entry holding no more than a few chunks in memory', async () => {
    const size = 50 * 1024 * 1024;
    const chunk = 64 * 1024;
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const header = encodeHeader({ name: 'big', type: 'file', size });
    const input = new Readable({
      highWaterMark: chunk,
      read() {
        if (produced === 0) {
          this.push(header);
          produced = 1; // the header does not count
          return;
        }
        const sent = produced - 1;
        if (sent >= size) {
          this.push(Buffer.alloc(1024));
          this.push(null);
          return;
        }
        const n = Math.min(chunk, size - sent);
        produced += n;
        maxAhead = Math.max(maxAhead, produced - 1 - consumed);
        this.push(Buffer.alloc(n, 7));
      },
    });
    const rssBefore = process.memoryUsage().rss;
    for await (const e of readTar(input)) {
      for await (const c of e.body as AsyncIterable<Buffer>) {
        consumed += c.length;
        if (consumed % (8 * chunk) === 0) await new Promise((r) => setImmediate(r));
      }
    }
    assert.equal(consumed, size);
    // The input's buffer, the reader's one chunk and the body's buffer: a few chunks, not megabytes.
    assert.ok(maxAhead <= 8 * chunk, `read ahead ${maxAhead} bytes`);
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024);
  });

  it('reads a tar inside a tar entry (docker load), and the outer reader survives an inner break', async () => {
    const inner = await collect(tarStream(async (w) => {
      for (let i = 0; i < 5; i++) await w.addEntry({ name: `layer/f${i}`, type: 'file' }, Buffer.alloc(50_000, i));
    }));
    const outer = await collect(tarStream(async (w) => {
      await w.addEntry({ name: 'a/layer.tar', type: 'file' }, inner);
      await w.addEntry({ name: 'b/layer.tar', type: 'file' }, inner);
      await w.addEntry({ name: 'manifest.json', type: 'file' }, Buffer.from('[]'));
    }));
    const seen: string[] = [];
    for await (const e of readTar(chunked(outer, 65536))) {
      seen.push(e.header.name);
      if (e.header.name === 'a/layer.tar') {
        const names: string[] = [];
        for await (const l of readTar(e.body)) {
          names.push(l.header.name);
          assert.ok((await collect(l.body)).every((b) => b === Number(l.header.name.at(-1))));
        }
        assert.deepEqual(names, ['layer/f0', 'layer/f1', 'layer/f2', 'layer/f3', 'layer/f4']);
      } else if (e.header.name === 'b/layer.tar') {
        for await (const l of readTar(e.body)) if (l.header.name === 'layer/f1') break;
        assert.ok(e.body.destroyed);
      } else {
        assert.equal((await collect(e.body)).toString(), '[]');
      }
    }
    assert.deepEqual(seen, ['a/layer.tar', 'b/layer.tar', 'manifest.json']);
  });

  it('reads from a file stream', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'x'), 'content');
    run('tar', ['-cf', join(dir, 'x.tar'), 'x'], dir);
    const { entries } = await readAll(createReadStream(join(dir, 'x.tar')));
    assert.equal(entries[0]!.body.toString(), 'content');
  });
});
