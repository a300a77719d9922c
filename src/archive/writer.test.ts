import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { InvalidParameter } from '../lib/errors.js';
import { field, parsePaxRecords } from './header.js';
import { collect, have, readAll, run, tempDir } from './testing.js';
import { TarWriter, encodeHeader, tarStream, type EntryInput } from './writer.js';

const T = new Date(1_700_000_000_000);

function str(b: Buffer): string {
  return b.toString('latin1');
}

describe('encodeHeader chooses the format as Go archive/tar does', () => {
  it('writes a plain entry as one ustar block, field by field', () => {
    const b = encodeHeader({ name: 'a', type: 'file', mode: 0o644, uid: 1000, gid: 1001, size: 5, mtime: T, uname: 'u', gname: 'g' });
    assert.equal(b.length, 512);
    assert.equal(str(field(b, 'name')), 'a' + '\0'.repeat(99));
    assert.equal(str(field(b, 'mode')), '0000644\0');
    assert.equal(str(field(b, 'uid')), '0001750\0');
    assert.equal(str(field(b, 'gid')), '0001751\0');
    assert.equal(str(field(b, 'size')), '00000000005\0');
    assert.equal(str(field(b, 'mtime')), (1_700_000_000).toString(8).padStart(11, '0') + '\0');
    assert.equal(str(field(b, 'typeflag')), '0');
    assert.equal(str(field(b, 'magic')) + str(field(b, 'version')), 'ustar\x0000');
    assert.equal(str(field(b, 'uname')), 'u' + '\0'.repeat(31));
    assert.equal(str(field(b, 'devmajor')), '0000000\0');
    assert.equal(str(field(b, 'devminor')), '0000000\0');
    assert.ok(field(b, 'prefix').every((x) => x === 0));
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
    assert.equal(str(field(b, 'chksum')), sum.toString(8).padStart(6, '0') + '\0 ');
  });

  it('ends directory names with "/", refuses a trailing "/" on files', () => {
    assert.equal(str(field(encodeHeader({ name: 'dir', type: 'dir' }), 'name')).replace(/\0+$/, ''), 'dir/');
    assert.throws(() => encodeHeader({ name: 'f/', type: 'file' }), InvalidParameter);
  });

  it('splits a long ASCII path into prefix and name', () => {
    const name = 'p'.repeat(140) + '/' + 'n'.repeat(90);
    const b = encodeHeader({ name, type: 'file' });
    assert.equal(b.length, 512);
    assert.equal(str(field(b, 'prefix')).replace(/\0+$/, ''), 'p'.repeat(140));
    assert.equal(str(field(b, 'name')).replace(/\0+$/, ''), 'n'.repeat(90));
  });

  it('uses a PAX header for what ustar cannot hold', () => {
    const long = 'd/' + 'x'.repeat(300);
    const b = encodeHeader({ name: long, type: 'symlink', linkname: 'l'.repeat(120), uid: 3_000_000, mtime: T });
    assert.equal(b.length, 3 * 512);
    assert.equal(str(field(b, 'typeflag')), 'x');
    assert.equal(str(field(b, 'name')), `d/PaxHeaders.0/${'x'.repeat(85)}`);
    assert.equal(str(field(b, 'magic')), 'ustar\0');
    const size = parseInt(str(field(b, 'size')), 8);
    const records = parsePaxRecords(b.subarray(512, 512 + size));
    assert.deepEqual(
      records.map(([k, v]) => [k, v.toString()]),
      [
        ['linkpath', 'l'.repeat(120)],
        ['path', long],
        ['uid', '3000000'],
      ],
    );
    const main = b.subarray(1024);
    assert.equal(str(field(main, 'typeflag')), '2');
    assert.equal(str(field(main, 'name')), long.slice(0, 100));
    assert.equal(str(field(main, 'uid')), '0000000\0');
  });

  it('uses PAX for non-ASCII names, xattrs (sorted), negative times, and sizes past 8 GiB', () => {
    const b = encodeHeader({
      name: 'caf\u00e9',
      type: 'file',
      size: 2 ** 34,
      mtime: new Date(-5000),
      xattrs: { 'user.z': Buffer.from([0xff, 0]), 'security.capability': Buffer.from('cap') },
    });
    const size = parseInt(str(field(b, 'size')), 8);
    const recs = Object.fromEntries(parsePaxRecords(b.subarray(512, 512 + size)).map(([k, v]) => [k, v]));
    assert.deepEqual(Object.keys(recs), ['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.z', 'mtime', 'path', 'size']);
    assert.equal(recs['path']!.toString(), 'café');
    assert.equal(recs['size']!.toString(), String(2 ** 34));
    assert.equal(recs['mtime']!.toString(), '-5');
    assert.deepEqual(recs['SCHILY.xattr.user.z'], Buffer.from([0xff, 0]));
    const main = b.subarray(b.length - 512);
    assert.equal(str(field(main, 'size')), '00000000000\0');
    assert.equal(str(field(main, 'name')).replace(/\0+$/, ''), 'caf');
  });

  it('falls back to GNU for device numbers no octal field holds', () => {
    const b = encodeHeader({ name: 'dev', type: 'char', devmajor: 3_000_000, devminor: 1 });
    assert.equal(b.length, 512);
    assert.equal(str(field(b, 'magic')) + str(field(b, 'version')), 'ustar  \0');
    assert.equal(b[329]! & 0x80, 0x80);
    const long = encodeHeader({ name: 'n'.repeat(200), type: 'block', devmajor: 3_000_000 });
    assert.equal(str(field(long, 'typeflag')), 'L');
    assert.equal(str(field(long, 'name')).replace(/\0+$/, ''), '././@LongLink');
    assert.throws(() => encodeHeader({ name: 'd', type: 'char', devmajor: 3_000_000, xattrs: { a: Buffer.from('b') } }), InvalidParameter);
  });

  it('copies extra PAX records, and basic ones only when they match the header', () => {
    const b = encodeHeader({ name: 'f', type: 'file', uid: 7, pax: { comment: 'hi', uid: '7', gid: '99' } });
    const size = parseInt(str(field(b, 'size')), 8);
    assert.deepEqual(
      parsePaxRecords(b.subarray(512, 512 + size)).map(([k, v]) => `${k}=${v.toString()}`),
      ['comment=hi', 'uid=7'],
    );
  });

  it('is deterministic', () => {
    const h: EntryInput = { name: 'x/'.repeat(80) + 'y', type: 'file', size: 3, xattrs: { b: Buffer.from('1'), a: Buffer.from('2') }, mtime: T };
    assert.deepEqual(encodeHeader(h), encodeHeader({ ...h }));
  });
});

const ENTRIES: Array<[EntryInput, Buffer?]> = [
  [{ name: 'dir', type: 'dir', mode: 0o750, mtime: T }],
  [{ name: 'dir/file', type: 'file', mode: 0o640, uid: 1000, gid: 1000, uname: 'me', gname: 'us', mtime: T }, Buffer.from('hello\n')],
  [{ name: 'dir/empty', type: 'file', mtime: T }, Buffer.alloc(0)],
  [{ name: 'dir/link', type: 'symlink', linkname: 'file', mode: 0o777, mtime: T }],
  [{ name: 'dir/hard', type: 'link', linkname: 'dir/file', mtime: T }],
  [{ name: 'dir/' + 'l'.repeat(150), type: 'file', mtime: T }, Buffer.from('long')],
  [{ name: 'dir/' + 'm'.repeat(120) + '/' + 'n'.repeat(150), type: 'file', mtime: T }, Buffer.from('longer')],
  [{ name: 'dir/\u00fcn\u00efc\u00f6d\u00e9', type: 'file', mtime: T }, Buffer.from('utf8')],
  [{ name: 'dir/big-ids', type: 'file', uid: 3_000_000, gid: 4_000_000_000, mtime: T }, Buffer.from('ids')],
  [{ name: 'dir/fifo', type: 'fifo', mtime: T }],
  [{ name: 'dir/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: T }],
  [{ name: 'dir/loop', type: 'block', devmajor: 7, devminor: 0, mtime: T }],
  [{ name: 'dir/xattr', type: 'file', mtime: T, xattrs: { 'user.bin': Buffer.from([0, 10, 61, 255]) } }, Buffer.from('x')],
  [{ name: 'dir/block-sized', type: 'file', mtime: T }, Buffer.alloc(1024, 'k')],
];

describe('TarWriter', () => {
  it('round-trips through the reader', async () => {
    const tar = await collect(tarStream(async (w) => {
      for (const [h, body] of ENTRIES) await w.addEntry(h, body);
    }));
    assert.equal(tar.length % 512, 0);
    assert.ok(tar.subarray(tar.length - 1024).every((b) => b === 0));
    const { entries, trailer } = await readAll(tar);
    assert.equal(trailer.length, 1024);
    assert.equal(entries.length, ENTRIES.length);
    for (const [i, e] of entries.entries()) {
      const [want, body] = ENTRIES[i]!;
      const h = e.header;
      assert.equal(h.name, want.type === 'dir' ? want.name + '/' : want.name);
      assert.equal(h.type, want.type);
      assert.equal(h.mode, want.mode ?? (want.type === 'dir' ? 0o755 : 0o644));
      assert.equal(h.uid, want.uid ?? 0);
      assert.equal(h.gid, want.gid ?? 0);
      assert.equal(h.uname, want.uname ?? '');
      assert.equal(h.linkname, want.linkname ?? '');
      assert.equal(h.devmajor, want.devmajor ?? 0);
      assert.equal(h.devminor, want.devminor ?? 0);
      assert.equal(h.mtime.getTime(), T.getTime());
      assert.deepEqual(e.body, body ?? Buffer.alloc(0));
      assert.deepEqual(h.xattrs, want.xattrs ?? {});
    }
  });

  it('writes archives GNU tar extracts', async (t) => {
    const dir = tempDir(t);
    const tar = await collect(tarStream(async (w) => {
      for (const [h, body] of ENTRIES) if (h.type !== 'char' && h.type !== 'block') await w.addEntry(h, body);
    }));
    writeFileSync(join(dir, 'out.tar'), tar);
    run('tar', ['-xf', 'out.tar'], dir);
    assert.equal(readFileSync(join(dir, 'dir/file'), 'utf8'), 'hello\n');
    assert.equal(lstatSync(join(dir, 'dir/file')).mode & 0o7777, 0o640);
    assert.equal(lstatSync(join(dir, 'dir/file')).nlink, 2);
    assert.equal(readlinkSync(join(dir, 'dir/link')), 'file');
    assert.equal(readFileSync(join(dir, 'dir', 'm'.repeat(120), 'n'.repeat(150)), 'utf8'), 'longer');
    assert.equal(readFileSync(join(dir, 'dir/\u00fcn\u00efc\u00f6d\u00e9'), 'utf8'), 'utf8');
    assert.equal(lstatSync(join(dir, 'dir/big-ids')).uid, 3_000_000);
    assert.ok(lstatSync(join(dir, 'dir/fifo')).isFIFO());
    assert.equal(lstatSync(join(dir, 'dir/file')).mtimeMs, T.getTime());
    const listing = run('tar', ['-tvf', 'out.tar'], dir).toString();
    assert.match(listing, /dir\/null|dir\/xattr/);
  });

  it('lets GNU tar restore xattrs it wrote as PAX records', { skip: !have('python3') && 'python3 is not installed' }, async (t) => {
    const dir = tempDir(t);
    const tar = await collect(tarStream((w) => w.addEntry({ name: 'x', type: 'file', xattrs: { 'user.k': Buffer.from([1, 2, 0, 3]) } }, Buffer.from('v'))));
    writeFileSync(join(dir, 'x.tar'), tar);
    run('tar', ['--xattrs', '--xattrs-include=user.*', '-xf', 'x.tar'], dir);
    const got = run('python3', ['-c', 'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.k").hex())', join(dir, 'x')]).toString();
    assert.equal(got, '01020003');
  });

  it('checks a streamed body against its size', async () => {
    const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
    await assert.rejects(new TarWriter(sink()).addEntry({ name: 'f', type: 'file', size: 3 }, Readable.from([Buffer.from('four')])), /write too long/);
    await assert.rejects(new TarWriter(sink()).addEntry({ name: 'f', type: 'file', size: 9 }, Readable.from([Buffer.from('four')])), /missed writing 5 bytes/);
    await assert.rejects(new TarWriter(sink()).addEntry({ name: 'f', type: 'file' }, Readable.from([Buffer.from('x')])), InvalidParameter);
    await assert.rejects(new TarWriter(sink()).addEntry({ name: 'l', type: 'symlink' }, Buffer.from('x')), InvalidParameter);
    // After a failure, the writer refuses to go on.
    const w = new TarWriter(sink());
    await assert.rejects(w.addEntry({ name: 'f', type: 'file', size: 1 }, Readable.from([Buffer.from('xx')])));
    await assert.rejects(w.addEntry({ name: 'g', type: 'file' }, Buffer.from('ok')), /write too long/);
  });

  it('waits for a slow output: no more is pulled from a body than the output takes', async () => {
    let pulled = 0;
    const body = new Readable({
      highWaterMark: 16384,
      read() {
        pulled += 16384;
        this.push(Buffer.alloc(16384));
      },
    });
    const held: Array<() => void> = [];
    let written = 0;
    let stuck = true;
    const out = new Writable({
      highWaterMark: 16384,
      write(c: Buffer, _e, cb) {
        written += c.length;
        if (stuck) held.push(cb);
        else cb();
      },
    });
    const w = new TarWriter(out);
    let done = false;
    const p = w.addEntry({ name: 'slow', type: 'file', size: 10 * 1024 * 1024 }, body).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false);
    assert.ok(pulled <= 4 * 16384, `pulled ${pulled} bytes while the output was stuck`);
    assert.ok(written <= 2 * 16384);
    body.destroy();
    stuck = false;
    for (const cb of held.splice(0)) cb();
    await assert.rejects(p);
  });

  it('tarStream fails the stream when the producer fails', async () => {
    const s = tarStream(async (w) => {
      await w.addEntry({ name: 'a', type: 'file' }, Buffer.from('1'));
      throw new Error('producer broke');
    });
    await assert.rejects(collect(s), /producer broke/);
  });

  it('ends the output on finish, or leaves it open when asked', async () => {
    const chunks: Buffer[] = [];
    const out = new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    });
    const w = new TarWriter(out);
    await w.addEntry({ name: 'a', type: 'file' }, Buffer.from('1'));
    await w.finish({ end: false });
    assert.equal(out.writableEnded, false);
    assert.equal(Buffer.concat(chunks).length, 512 * 4);
    await assert.rejects(w.addEntry({ name: 'b', type: 'file' }, Buffer.from('1')), /finished/);
    out.end();
  });
});
