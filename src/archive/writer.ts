import { posix } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { InvalidParameter } from '../lib/errors.js';
import {
  BLOCK,
  F,
  MAX_SPECIAL_SIZE,
  NAME_SIZE,
  PREFIX_SIZE,
  blockPadding,
  field,
  fitsInBase256,
  fitsInOctal,
  formatPaxRecord,
  formatPaxTime,
  sealBlock,
  validPaxRecord,
  writeNumeric,
  writeOctal,
  writeString,
  type TarHeader,
  type TarType,
} from './header.js';

/**
 * What the writer needs to know about an entry: a name and a type; everything else defaults
 * (mode 0644, or 0755 for a directory; owner 0:0; mtime the epoch). `size` is needed only for
 * a regular file whose body is a stream. mtime is written in whole seconds (truncated, as
 * dockerd truncates before writing); atime and ctime are not written.
 */
export type EntryInput = Partial<TarHeader> & { name: string; type: TarType };

const TYPEFLAG: Record<TarType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** PAX keys that mirror header fields; copied from `pax` only when equal to the field. */
const BASIC_KEYS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function isASCII(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function toASCII(s: string): Buffer {
  return Buffer.from(s.replace(/[^\x01-\x7f]/g, ''), 'latin1');
}

/** Go's splitUSTARPath: a name too long for the name field split at a '/' into prefix/name. */
function splitUstarPath(name: Buffer): [Buffer, Buffer] | undefined {
  let length = name.length;
  if (length <= NAME_SIZE || !isASCII(name)) return undefined;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === 0x2f) length--;
  const i = name.subarray(0, length).lastIndexOf(0x2f);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined;
  return [name.subarray(0, i), name.subarray(i + 1)];
}

/** The header with defaults applied; mtime in whole seconds. */
interface Normal {
  name: string;
  typeflag: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Buffer>;
  pax: Record<string, string>;
}

function normalize(h: EntryInput, size: number): Normal {
  let name = h.name;
  if (h.type === 'dir' && !name.endsWith('/')) name += '/';
  if ((h.type === 'file' || h.type === 'char' || h.type === 'block' || h.type === 'fifo') && name.endsWith('/')) {
    throw new InvalidParameter(`archive/tar: filename may not have trailing slash: ${name}`);
  }
  const typeflag = TYPEFLAG[h.type];
  if (typeflag === undefined) throw new InvalidParameter(`archive/tar: unknown entry type ${String(h.type)}`);
  const ms = h.mtime?.getTime() ?? 0;
  if (!Number.isFinite(ms)) throw new InvalidParameter(`archive/tar: invalid mtime for ${name}`);
  return {
    name,
    typeflag,
    linkname: h.linkname ?? '',
    mode: h.mode ?? (h.type === 'dir' ? 0o755 : 0o644),
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size,
    mtime: Math.floor(ms / 1000),
    uname: h.uname ?? '',
    gname: h.gname ?? '',
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
    xattrs: h.xattrs ?? {},
    pax: h.pax ?? {},
  };
}

/** The header block with every V7 and ustar field but the name prefix, magic and checksum. */
function template(h: Normal, str: (b: Buffer, s: string) => void, num: (b: Buffer, x: number) => void): Buffer {
  const blk = Buffer.alloc(BLOCK);
  blk[F.typeflag[0]] = h.typeflag.charCodeAt(0);
  str(field(blk, 'name'), h.name);
  str(field(blk, 'linkname'), h.linkname);
  num(field(blk, 'mode'), h.mode);
  num(field(blk, 'uid'), h.uid);
  num(field(blk, 'gid'), h.gid);
  num(field(blk, 'size'), h.size);
  num(field(blk, 'mtime'), h.mtime);
  str(field(blk, 'uname'), h.uname);
  str(field(blk, 'gname'), h.gname);
  num(field(blk, 'devmajor'), h.devmajor);
  num(field(blk, 'devminor'), h.devminor);
  return blk;
}

/** A header-plus-data pseudo file: PAX extended headers and GNU long names (Go's writeRawFile). */
function rawFile(name: string, data: Buffer, flag: string, format: 'ustar' | 'gnu'): Buffer {
  let n = toASCII(name).subarray(0, NAME_SIZE);
  let end = n.length;
  while (end > 0 && n[end - 1] === 0x2f) end--;
  n = n.subarray(0, end);
  const blk = Buffer.alloc(BLOCK);
  blk[F.typeflag[0]] = flag.charCodeAt(0);
  writeString(field(blk, 'name'), n);
  writeOctal(field(blk, 'mode'), 0);
  writeOctal(field(blk, 'uid'), 0);
  writeOctal(field(blk, 'gid'), 0);
  writeOctal(field(blk, 'size'), data.length);
  writeOctal(field(blk, 'mtime'), 0);
  sealBlock(blk, format);
  return Buffer.concat([blk, data, Buffer.alloc(blockPadding(data.length))]);
}

/**
 * The header blocks for an entry, chosen as Go's archive/tar chooses with no format asked
 * for: ustar when every field fits (long names split into prefix/name), else PAX records
 * for what does not fit (long or non-ASCII names, big ids and sizes, out-of-range or
 * negative times, xattrs, extra PAX records), else GNU (base-256, long-name entries) for
 * what only GNU can hold, such as big device numbers.
 */
export function encodeHeader(input: EntryInput, size = input.size ?? 0): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidParameter(`archive/tar: invalid size ${size} for ${input.name}`);
  const h = normalize(input, input.type === 'file' ? size : 0);
  let ustar = true;
  let pax = true;
  let gnu = true;
  const why: string[] = [];
  const records = new Map<string, Buffer>();
  const given = (key: string, value: string): void => {
    if (h.pax[key] === value) records.set(key, Buffer.from(value, 'utf8'));
  };
  const verifyString = (s: string, size: number, key: string | null): void => {
    const b = Buffer.from(s, 'utf8');
    const tooLong = b.length > size;
    const longGNU = key === 'path' || key === 'linkpath';
    if (b.includes(0) || (tooLong && !longGNU)) gnu = false;
    if (!isASCII(b) || tooLong) {
      if (key !== 'path' || !splitUstarPath(b)) ustar = false;
      if (key === null) {
        pax = false;
        why.push(`cannot encode ${s}`);
      } else {
        records.set(key, b);
      }
    }
    if (key !== null) given(key, s);
  };
  const verifyNumeric = (n: number, size: number, key: string | null, what: string): void => {
    if (!Number.isSafeInteger(n)) throw new InvalidParameter(`archive/tar: invalid ${what} ${n} for ${h.name}`);
    if (!fitsInBase256(size, n)) gnu = false;
    if (!fitsInOctal(size, n)) {
      ustar = false;
      if (key === null) {
        pax = false;
        why.push(`cannot encode ${what}=${n}`);
      } else {
        records.set(key, Buffer.from(String(n), 'latin1'));
      }
    }
    if (key !== null) given(key, String(n));
  };
  verifyString(h.name, NAME_SIZE, 'path');
  verifyString(h.linkname, NAME_SIZE, 'linkpath');
  verifyString(h.uname, 32, 'uname');
  verifyString(h.gname, 32, 'gname');
  verifyNumeric(h.mode, 8, null, 'mode');
  verifyNumeric(h.uid, 8, 'uid', 'uid');
  verifyNumeric(h.gid, 8, 'gid', 'gid');
  verifyNumeric(h.size, 12, 'size', 'size');
  verifyNumeric(h.devmajor, 8, null, 'devmajor');
  verifyNumeric(h.devminor, 8, null, 'devminor');
  // mtime: like verifyNumeric, written as a PAX time.
  if (!fitsInBase256(12, h.mtime)) gnu = false;
  const mtimeStr = formatPaxTime(BigInt(h.mtime) * 1_000_000_000n);
  if (!fitsInOctal(12, h.mtime)) {
    ustar = false;
    records.set('mtime', Buffer.from(mtimeStr, 'latin1'));
  }
  given('mtime', mtimeStr);

  const xattrs = Object.entries(h.xattrs);
  for (const [k, v] of xattrs) records.set(`SCHILY.xattr.${k}`, Buffer.isBuffer(v) ? v : Buffer.from(v));
  const extra = Object.entries(h.pax);
  for (const [k, v] of extra) {
    if (records.has(k) || BASIC_KEYS.has(k) || k.startsWith('GNU.sparse.')) continue;
    records.set(k, Buffer.from(v, 'utf8'));
  }
  if (xattrs.length > 0 || extra.length > 0) {
    ustar = false;
    gnu = false;
  }
  for (const [k, v] of records) {
    if (!validPaxRecord(k, v)) throw new InvalidParameter(`archive/tar: invalid PAX record ${JSON.stringify(k)} for ${h.name}`);
  }

  if (ustar) return ustarHeader(h);
  if (pax) return paxHeader(h, records);
  if (gnu) return gnuHeader(h);
  throw new InvalidParameter(`archive/tar: cannot encode header for ${h.name}: ${why.join('; ') || 'no format holds all its fields'}`);
}

function ustarHeader(h: Normal): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  const split = splitUstarPath(name);
  const blk = template(
    { ...h, name: split ? split[1].toString('latin1') : h.name },
    (b, s) => writeString(b, Buffer.from(s, 'utf8')),
    writeOctal,
  );
  if (split) writeString(field(blk, 'prefix'), split[0]);
  sealBlock(blk, 'ustar');
  return blk;
}

function paxHeader(h: Normal, records: Map<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  if (records.size > 0) {
    // Sorted by the bytes of the key, as Go's sort.Strings orders them.
    const keys = [...records.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const data = Buffer.concat(keys.map((k) => formatPaxRecord(k, records.get(k)!)));
    if (data.length > MAX_SPECIAL_SIZE) throw new InvalidParameter(`archive/tar: PAX header of ${h.name} is too long`);
    const slash = h.name.lastIndexOf('/');
    const name = posix.join(h.name.slice(0, slash + 1), 'PaxHeaders.0', h.name.slice(slash + 1));
    parts.push(rawFile(name, data, 'x', 'ustar'));
  }
  const blk = template(h, (b, s) => writeString(b, toASCII(s)), writeOctal);
  sealBlock(blk, 'ustar');
  parts.push(blk);
  return Buffer.concat(parts);
}

function gnuHeader(h: Normal): Buffer {
  const parts: Buffer[] = [];
  const name = Buffer.from(h.name, 'utf8');
  const link = Buffer.from(h.linkname, 'utf8');
  if (name.length > NAME_SIZE) parts.push(rawFile('././@LongLink', Buffer.concat([name, Buffer.alloc(1)]), 'L', 'gnu'));
  if (link.length > NAME_SIZE) parts.push(rawFile('././@LongLink', Buffer.concat([link, Buffer.alloc(1)]), 'K', 'gnu'));
  const blk = template(h, (b, s) => writeString(b, Buffer.from(s, 'utf8')), writeNumeric);
  sealBlock(blk, 'gnu');
  parts.push(blk);
  return Buffer.concat(parts);
}

async function writeTo(out: Writable, buf: Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new Error('tar output is closed');
  if (out.write(buf)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error('tar output closed'));
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}

/**
 * Writes a tar stream to `out`, waiting for it to drain. Calls are queued, so entries land in
 * the order addEntry was called; after a failure every later call fails too (the stream is
 * then torn and should be destroyed).
 */
export class TarWriter {
  readonly #out: Writable;
  #tail: Promise<void> = Promise.resolve();
  #error: unknown;
  #finished = false;

  constructor(out: Writable) {
    this.#out = out;
  }

  #queue(op: () => Promise<void>): Promise<void> {
    const p = this.#tail.then(() => {
      if (this.#error !== undefined) throw this.#error;
      return op();
    });
    this.#tail = p.catch((err: unknown) => {
      this.#error ??= err;
    });
    return p;
  }

  /** Writes one entry. A Buffer body sets the size; a stream body needs `header.size`. */
  addEntry(header: EntryInput, body?: Readable | Buffer): Promise<void> {
    return this.#queue(async () => {
      if (this.#finished) throw new Error('tar writer is finished');
      let size = header.size ?? 0;
      if (Buffer.isBuffer(body)) size = body.length;
      else if (body && header.size === undefined) {
        throw new InvalidParameter(`archive/tar: size is required to stream the body of ${header.name}`);
      }
      if (header.type !== 'file' && body !== undefined && (!Buffer.isBuffer(body) || body.length > 0)) {
        throw new InvalidParameter(`archive/tar: a ${header.type} entry has no body: ${header.name}`);
      }
      if (header.type !== 'file') size = 0;
      await writeTo(this.#out, encodeHeader(header, size));
      if (size === 0) return;
      if (body === undefined) throw new InvalidParameter(`archive/tar: missing body of ${size} bytes for ${header.name}`);
      if (Buffer.isBuffer(body)) {
        await writeTo(this.#out, body);
      } else {
        let written = 0;
        for await (const c of body) {
          const chunk: Buffer = typeof c === 'string' ? Buffer.from(c) : c;
          written += chunk.length;
          if (written > size) throw new InvalidParameter(`archive/tar: write too long: ${header.name} is more than ${size} bytes`);
          await writeTo(this.#out, chunk);
        }
        if (written < size) {
          throw new InvalidParameter(`archive/tar: missed writing ${size - written} bytes of ${header.name}`);
        }
      }
      const pad = blockPadding(size);
      if (pad > 0) await writeTo(this.#out, END_OF_ARCHIVE.subarray(0, pad));
    });
  }

  /** Writes the two zero blocks that end the archive, then ends `out` unless told not to. */
  finish(opts: { end?: boolean } = {}): Promise<void> {
    return this.#queue(async () => {
      if (this.#finished) return;
      this.#finished = true;
      await writeTo(this.#out, END_OF_ARCHIVE);
      if (opts.end ?? true) this.#out.end();
    });
  }
}

/**
 * A tar stream produced by `fill`, with back-pressure: `fill` adds entries, the archive is
 * finished when it resolves, and the stream is destroyed with its error if it rejects.
 */
export function tarStream(fill: (writer: TarWriter) => Promise<void>): Readable {
  const out = new PassThrough();
  const writer = new TarWriter(out);
  void (async () => {
    try {
      await fill(writer);
      await writer.finish();
    } catch (err) {
      out.destroy(err as Error);
    }
  })();
  return out;
}
