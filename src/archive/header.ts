import { InvalidParameter } from '../lib/errors.js';

/**
 * The tar header block: its layout, and how its fields are read and written. A "block" is the
 * 512-byte unit of a tar stream; a "header" is what one entry says about its file, after any
 * PAX or GNU long-name blocks before it are merged in. Field handling follows Go's archive/tar
 * (what dockerd uses), so that the archives Docker reads and writes are read and written alike.
 */

export const BLOCK = 512;

/** What kind of file an entry is. '7' (contiguous) reads as 'file'. */
export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** As written in the archive (a directory keeps its trailing '/'). */
  name: string;
  /** Permission bits as stored; some writers (Docker among them) also store the S_IF* type bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Length of the entry's body: 0 for every type but 'file'. */
  size: number;
  /** Modification time, with millisecond precision. */
  mtime: Date;
  /** The exact modification time in nanoseconds since the epoch, when a PAX record gave it. */
  mtimeNs?: bigint;
  /** Access and change times, when a PAX record or a GNU/star header gave them. */
  atime?: Date;
  ctime?: Date;
  type: TarType;
  /** Target of a symlink, or the name of the entry a hard link points at. */
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.<name>` records; values are bytes. */
  xattrs: Record<string, Buffer>;
  /** Every PAX record of this entry (values decoded as UTF-8). Global ('g') records are not merged in. */
  pax: Record<string, string>;
}

/** The four header layouts that differ in where fields sit and how they end. */
export type HeaderFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** One header block as stored, before PAX/GNU long-name blocks are applied. */
export interface BlockHeader {
  typeflag: string;
  format: HeaderFormat;
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  atime?: number;
  ctime?: number;
}

// Field offsets and lengths of the ustar block; GNU and star reuse the prefix area.
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
  starPrefix: [345, 131],
  starAtime: [476, 12],
  starCtime: [488, 12],
  starTrailer: [508, 4],
} as const satisfies Record<string, readonly [number, number]>;

type Field = keyof typeof F;

const MAGIC_USTAR = Buffer.from('ustar\0', 'latin1');
const VERSION_USTAR = Buffer.from('00', 'latin1');
const MAGIC_GNU = Buffer.from('ustar ', 'latin1');
const VERSION_GNU = Buffer.from(' \0', 'latin1');
const TRAILER_STAR = Buffer.from('tar\0', 'latin1');

export const NAME_SIZE = 100;
export const PREFIX_SIZE = 155;
/** Go's limit on the data of a PAX or GNU long-name entry. */
export const MAX_SPECIAL_SIZE = 1 << 20;


export function field(block: Buffer, f: Field): Buffer {
  const [off, len] = F[f];
  return block.subarray(off, off + len);
}

export function invalidHeader(detail: string): InvalidParameter {
  return new InvalidParameter(`archive/tar: invalid tar header: ${detail}`);
}

export function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Bytes of padding after a body of `size` bytes, up to the next block boundary. */
export function blockPadding(size: number): number {
  return -size & (BLOCK - 1);
}

// --- reading -----------------------------------------------------------------------------

/** The bytes of a string field up to its first NUL. */
export function cString(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

export function parseString(b: Buffer): string {
  return cString(b).toString('utf8');
}

/** An octal field: leading and trailing spaces and NULs are ignored, as Go does. */
export function parseOctal(b: Buffer, what: string): number {
  let start = 0;
  let end = b.length;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  if (start === end) return 0;
  const s = cString(b.subarray(start, end)).toString('latin1');
  if (!/^[0-7]+$/.test(s)) throw invalidHeader(`bad octal number in ${what}: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

/**
 * A numeric field: octal text, or GNU/star base-256 when the high bit of the first byte is set
 * (two's complement, so negative values such as pre-1970 times can be stored).
 */
export function parseNumeric(b: Buffer, what: string): number {
  if (b.length > 0 && (b[0]! & 0x80) !== 0) {
    const inv = (b[0]! & 0x40) !== 0 ? 0xff : 0;
    let x = 0n;
    for (let i = 0; i < b.length; i++) {
      let c = b[i]! ^ inv;
      if (i === 0) c &= 0x7f;
      if (x >> 56n > 0n) throw invalidHeader(`base-256 number in ${what} overflows`);
      x = (x << 8n) | BigInt(c);
    }
    if (x >> 63n > 0n) throw invalidHeader(`base-256 number in ${what} overflows`);
    const v = inv === 0xff ? -x - 1n : x;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw invalidHeader(`number in ${what} is too large`);
    }
    return Number(v);
  }
  return parseOctal(b, what);
}

/** The unsigned and the signed sum of the block, counting the checksum field as spaces. */
export function computeChecksum(block: Buffer): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += c;
    signed += c < 0x80 ? c : c - 256;
  }
  return [unsigned, signed];
}

function detectFormat(block: Buffer): HeaderFormat {
  const magic = field(block, 'magic');
  if (magic.equals(MAGIC_USTAR)) {
    return field(block, 'starTrailer').equals(TRAILER_STAR) ? 'star' : 'ustar';
  }
  if (magic.equals(MAGIC_GNU) && field(block, 'version').equals(VERSION_GNU)) return 'gnu';
  return 'v7';
}

/** Reads one (non-zero) header block: validates its checksum and decodes its fields. */
export function parseBlock(block: Buffer): BlockHeader {
  const stored = parseOctal(field(block, 'chksum'), 'checksum');
  const [unsigned, signed] = computeChecksum(block);
  if (stored !== unsigned && stored !== signed) {
    throw invalidHeader(`checksum mismatch (stored ${stored}, computed ${unsigned})`);
  }
  const format = detectFormat(block);
  const h: BlockHeader = {
    typeflag: String.fromCharCode(block[156]!),
    format,
    name: parseString(field(block, 'name')),
    mode: parseNumeric(field(block, 'mode'), 'mode'),
    uid: parseNumeric(field(block, 'uid'), 'uid'),
    gid: parseNumeric(field(block, 'gid'), 'gid'),
    size: parseNumeric(field(block, 'size'), 'size'),
    mtime: parseNumeric(field(block, 'mtime'), 'mtime'),
    linkname: parseString(field(block, 'linkname')),
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  };
  if (format === 'v7') return h;
  h.uname = parseString(field(block, 'uname'));
  h.gname = parseString(field(block, 'gname'));
  h.devmajor = parseNumeric(field(block, 'devmajor'), 'devmajor');
  h.devminor = parseNumeric(field(block, 'devminor'), 'devminor');
  let prefix = '';
  if (format === 'ustar') {
    prefix = parseString(field(block, 'prefix'));
  } else if (format === 'star') {
    prefix = parseString(field(block, 'starPrefix'));
    h.atime = parseNumeric(field(block, 'starAtime'), 'atime');
    h.ctime = parseNumeric(field(block, 'starCtime'), 'ctime');
  } else {
    // Go before 1.8 wrote ustar prefixes into GNU headers; like Go, take the field as a prefix
    // when it does not parse as GNU times.
    try {
      const a = field(block, 'gnuAtime');
      const c = field(block, 'gnuCtime');
      if (a[0] !== 0) h.atime = parseNumeric(a, 'atime');
      if (c[0] !== 0) h.ctime = parseNumeric(c, 'ctime');
    } catch {
      delete h.atime;
      delete h.ctime;
      const p = parseString(field(block, 'prefix'));
      if (/^[\x00-\x7f]*$/.test(p)) prefix = p;
    }
  }
  if (prefix.length > 0) h.name = `${prefix}/${h.name}`;
  return h;
}

/**
 * The records of a PAX extended header, in order: "<len> <key>=<value>\n". Lengths count
 * bytes and values may be binary (xattrs), so this works on bytes.
 */
export function parsePaxRecords(data: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) throw invalidHeader('malformed PAX record');
    const lenStr = data.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenStr)) throw invalidHeader('malformed PAX record length');
    const n = Number(lenStr);
    if (n < 5 || pos + n > data.length || n <= lenStr.length + 1) throw invalidHeader('malformed PAX record length');
    const end = pos + n;
    if (data[end - 1] !== 0x0a) throw invalidHeader('PAX record does not end in a newline');
    const rec = data.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw invalidHeader('malformed PAX record');
    const key = rec.toString('utf8', 0, eq);
    const value = Buffer.from(rec.subarray(eq + 1));
    if (!validPaxRecord(key, value)) throw invalidHeader(`invalid PAX record ${JSON.stringify(key)}`);
    out.push([key, value]);
    pos = end;
  }
  return out;
}

const NUL_CHECKED_VALUES = new Set(['path', 'linkpath', 'uname', 'gname']);

export function validPaxRecord(key: string, value: Buffer): boolean {
  if (key === '' || key.includes('=')) return false;
  if (NUL_CHECKED_VALUES.has(key)) return !value.includes(0);
  return !key.includes('\0');
}

/** A PAX time "<seconds>[.<fraction>]" as nanoseconds since the epoch. */
export function parsePaxTime(s: string, what: string): bigint {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw invalidHeader(`bad PAX time in ${what}: ${JSON.stringify(s)}`);
  const secs = BigInt(m[2]!);
  const frac = BigInt(((m[3] ?? '') + '000000000').slice(0, 9));
  const ns = secs * 1_000_000_000n + frac;
  return m[1] === '-' ? -ns : ns;
}

/** Nanoseconds to a Date, rounding towards negative infinity to the millisecond. */
export function nsToDate(ns: bigint): Date {
  let ms = ns / 1_000_000n;
  if (ns < 0n && ms * 1_000_000n !== ns) ms -= 1n;
  return new Date(Number(ms));
}

// --- writing -----------------------------------------------------------------------------

export function fitsInOctal(size: number, x: number): boolean {
  const bits = (size - 1) * 3;
  return Number.isInteger(x) && x >= 0 && (size >= 22 || x < 2 ** bits);
}

export function fitsInBase256(size: number, x: number): boolean {
  if (!Number.isSafeInteger(x)) return false;
  const bits = (size - 1) * 8;
  return size >= 9 || (x >= -(2 ** bits) && x < 2 ** bits);
}

/** Copies `s` into the field, NUL-terminated when it is shorter (Go's formatString). */
export function writeString(b: Buffer, s: Buffer): void {
  s.copy(b, 0, 0, Math.min(s.length, b.length));
  if (s.length < b.length) b[s.length] = 0;
  // Some readers take a name field ending in '/' for a directory even when a PAX path says
  // otherwise; Go cuts such a truncated name before its trailing slashes.
  if (s.length > b.length && b[b.length - 1] === 0x2f) {
    let n = b.length - 1;
    while (n > 0 && s[n - 1] === 0x2f) n--;
    b[n] = 0;
  }
}

/** Zero-padded octal with a NUL terminator; a value that does not fit is written as 0. */
export function writeOctal(b: Buffer, x: number): void {
  const v = fitsInOctal(b.length, x) ? x : 0;
  writeString(b, Buffer.from(v.toString(8).padStart(b.length - 1, '0'), 'latin1'));
}

/** Octal when it fits, else GNU base-256. */
export function writeNumeric(b: Buffer, x: number): void {
  if (fitsInOctal(b.length, x)) return writeOctal(b, x);
  if (fitsInBase256(b.length, x)) {
    let v = BigInt(x);
    for (let i = b.length - 1; i >= 0; i--) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    b[0]! |= 0x80;
    return;
  }
  writeOctal(b, 0);
}

/** Writes the magic and version of the format, then the checksum ("%06o\0 "). */
export function sealBlock(block: Buffer, format: 'ustar' | 'gnu'): void {
  if (format === 'gnu') {
    MAGIC_GNU.copy(block, F.magic[0]);
    VERSION_GNU.copy(block, F.version[0]);
  } else {
    MAGIC_USTAR.copy(block, F.magic[0]);
    VERSION_USTAR.copy(block, F.version[0]);
  }
  const [sum] = computeChecksum(block);
  const chk = field(block, 'chksum');
  writeOctal(chk.subarray(0, 7), sum);
  chk[7] = 0x20;
}

/** One PAX record; the length prefix counts itself. */
export function formatPaxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let size = body.length + String(body.length).length;
  if (String(size).length + body.length !== size) size = String(size).length + body.length;
  return Buffer.concat([Buffer.from(String(size), 'latin1'), body]);
}

/** A time for a PAX record: seconds, and the fraction without trailing zeros. */
export function formatPaxTime(ns: bigint): string {
  let secs = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac === 0n) return secs.toString();
  let sign = '';
  if (ns < 0n) {
    sign = '-';
    secs = -secs;
    frac = -frac;
  }
  return `${sign}${secs}.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
}
