import { Readable } from 'node:stream';
import { InvalidParameter } from '../lib/errors.js';
import {
  BLOCK,
  MAX_SPECIAL_SIZE,
  blockPadding,
  invalidHeader,
  isZero,
  nsToDate,
  parseBlock,
  parsePaxRecords,
  parsePaxTime,
  parseString,
  type BlockHeader,
  type TarHeader,
  type TarType,
} from './header.js';
import { ByteSource } from './source.js';

/**
 * One entry of a tar stream as the reader hands it out. "raw" is every header byte of the
 * entry exactly as read: the PAX ('x', 'g') and GNU long-name ('L', 'K') blocks before it with
 * their data and padding, then its own header block. raw + body + padding of every entry, then
 * the trailer, is the stream byte for byte.
 */
export interface TarEntry {
  readonly header: TarHeader;
  readonly raw: Buffer;
  /**
   * The content, exactly header.size bytes (empty for all but regular files). Read it before
   * asking the iterator for the next entry: what is left unread then is skipped, and the body
   * is destroyed (a reader still attached sees a premature close).
   */
  readonly body: Readable;
  /**
   * The bytes between the body and the next block boundary, as read (normally zeros). Known
   * once the body has ended or the iterator has moved on; until then zeros of that length.
   */
  readonly padding: Buffer;
}

export interface ReadTarOptions {
  /**
   * Called once, after the last entry, with everything that followed it: the end-of-archive
   * zero blocks, any record padding and extra bytes, and PAX/GNU blocks not followed by an
   * entry. Empty when the stream simply stopped after an entry.
   */
  onTrailer?: (bytes: Buffer) => void | Promise<void>;
}

/** Largest chunk handed to a body at once (chunks are slices of the input's own chunks). */
const MAX_BODY_CHUNK = 1 << 20;

const TYPES: Record<string, TarType> = {
  '0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

function unexpectedEOF(what: string): InvalidParameter {
  return new InvalidParameter(`archive/tar: unexpected EOF (truncated ${what})`);
}

class MutableEntry implements TarEntry {
  padding: Buffer;
  constructor(
    readonly header: TarHeader,
    readonly raw: Buffer,
    readonly body: Readable,
    padLen: number,
  ) {
    this.padding = Buffer.alloc(padLen);
  }
}

/** Where the reader is inside the current entry's body. */
class BodyState {
  remaining: number;
  readonly padLen: number;
  paddingRead = false;
  ended = false;
  busy = false;
  again = false;
  detached = false;
  inflight: Promise<void> | undefined;
  error: unknown;
  entry!: MutableEntry;

  constructor(size: number) {
    this.remaining = size;
    this.padLen = blockPadding(size);
  }
}

/**
 * A streaming tar reader: `for await (const entry of readTar(stream)) { ... }`. It pulls from
 * the input only as entries and bodies are consumed. Breaking out of the loop, or an error,
 * destroys the input.
 *
 * Formats read as Go's archive/tar reads them: V7, ustar (with prefix), PAX ('x' records;
 * 'g' global headers are kept in the raw bytes but, as in dockerd, not applied), GNU (long
 * names, base-256 numbers) and star. A '\0' entry whose name ends in '/' is a directory.
 * Sparse files are refused.
 */
export class TarReader implements AsyncIterable<TarEntry> {
  readonly #input: Readable;
  readonly #opts: ReadTarOptions;
  #started = false;
  /** The bytes after the last entry, once the iterator has finished. */
  trailer: Buffer | undefined;

  constructor(input: Readable, opts: ReadTarOptions = {}) {
    this.#input = input;
    this.#opts = opts;
  }

  [Symbol.asyncIterator](): AsyncIterator<TarEntry> {
    if (this.#started) throw new Error('a tar stream can be iterated only once');
    this.#started = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<TarEntry, void, undefined> {
    const src = new ByteSource(this.#input);
    let current: BodyState | undefined;
    try {
      for (;;) {
        if (current) {
          await finishBody(src, current);
          current = undefined;
        }
        const next = await readEntry(src);
        if (!(next instanceof BodyState)) {
          this.trailer = next;
          await this.#opts.onTrailer?.(next);
          return;
        }
        current = next;
        yield next.entry;
      }
    } finally {
      if (current) {
        current.detached = true;
        await settle(current);
        if (!current.ended) current.entry.body.destroy();
      }
      await src.close();
    }
  }
}

export function readTar(input: Readable, opts?: ReadTarOptions): TarReader {
  return new TarReader(input, opts);
}

async function settle(st: BodyState): Promise<void> {
  while (st.inflight) await st.inflight;
}

async function readPadding(src: ByteSource, st: BodyState): Promise<void> {
  if (st.paddingRead) return;
  st.paddingRead = true;
  // Go accepts an archive cut within the last entry's padding; keep what is there.
  if (st.padLen > 0) st.entry.padding = Buffer.from(await src.read(st.padLen));
}

/** Moves past the current entry: what the consumer left of the body is skipped. */
async function finishBody(src: ByteSource, st: BodyState): Promise<void> {
  st.detached = true;
  await settle(st);
  if (st.error !== undefined) throw st.error;
  const body = st.entry.body;
  if (st.remaining > 0) {
    const want = st.remaining;
    const got = await src.skip(want);
    st.remaining -= got;
    if (got < want) {
      body.destroy();
      throw unexpectedEOF('file body');
    }
    if (!st.ended) {
      st.ended = true;
      body.destroy();
    }
  }
  await readPadding(src, st);
  if (!st.ended) {
    st.ended = true;
    body.push(null);
  }
}

function makeBody(src: ByteSource, st: BodyState): Readable {
  const step = async (): Promise<void> => {
    const body = st.entry.body;
    if (st.remaining === 0) {
      await readPadding(src, st);
      st.ended = true;
      body.push(null);
      return;
    }
    const c = await src.chunk(Math.min(st.remaining, MAX_BODY_CHUNK));
    if (c.length === 0) throw unexpectedEOF('file body');
    st.remaining -= c.length;
    body.push(c);
  };
  const pump = async (): Promise<void> => {
    st.busy = true;
    try {
      do {
        st.again = false;
        if (st.detached || st.ended || st.entry.body.destroyed) return;
        await step();
      } while (st.again);
    } catch (err) {
      st.error = err;
      st.ended = true;
      st.entry.body.destroy(err as Error);
    } finally {
      st.busy = false;
    }
  };
  const body = new Readable({
    read() {
      if (st.busy) {
        st.again = true;
        return;
      }
      if (st.detached) return;
      const p = pump();
      st.inflight = p;
      void p.finally(() => {
        if (st.inflight === p) st.inflight = undefined;
      });
    },
  });
  // A body error is also thrown by the iterator when it moves on, so it is never lost; this
  // keeps a body nobody listens to (e.g. one just resume()d) from crashing the process.
  body.on('error', () => {});
  return body;
}

/** Reads the header blocks of the next entry, or the trailer (a Buffer) at the end. */
async function readEntry(src: ByteSource): Promise<BodyState | Buffer> {
  const meta: Buffer[] = [];
  let pax: Array<[string, Buffer]> = [];
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const got = await src.read(BLOCK);
    if (got.length === 0) return Buffer.concat(meta);
    if (got.length < BLOCK) throw unexpectedEOF('header block');
    const block = Buffer.from(got);
    if (isZero(block)) {
      // End of archive. Like Go, a zero block must be followed by another (or by nothing).
      const rest = await src.rest();
      if (!isZero(rest.subarray(0, BLOCK))) throw invalidHeader('zero block followed by a non-zero block');
      return Buffer.concat([...meta, block, rest]);
    }
    const h = parseBlock(block);
    if (h.typeflag === 'x' || h.typeflag === 'g' || h.typeflag === 'L' || h.typeflag === 'K') {
      if (h.size < 0 || h.size > MAX_SPECIAL_SIZE) {
        throw invalidHeader(`${h.typeflag} header of ${h.size} bytes exceeds the limit`);
      }
      const data = Buffer.from(await src.read(h.size));
      if (data.length < h.size) throw unexpectedEOF('extended header');
      const pad = Buffer.from(await src.read(blockPadding(h.size)));
      if (pad.length < blockPadding(h.size)) throw unexpectedEOF('extended header');
      meta.push(block, data, pad);
      if (h.typeflag === 'x') pax = parsePaxRecords(data);
      else if (h.typeflag === 'g') parsePaxRecords(data); // validated, not applied (as dockerd)
      else if (h.typeflag === 'L') longName = parseString(data);
      else longLink = parseString(data);
      continue;
    }
    const header = mergeHeader(h, pax, longName, longLink);
    const st = new BodyState(header.size);
    const raw = meta.length > 0 ? Buffer.concat([...meta, block]) : block;
    st.entry = new MutableEntry(header, raw, makeBody(src, st), st.padLen);
    return st;
  }
}

function parseDecimal(v: string, key: string): number {
  if (!/^[+-]?[0-9]+$/.test(v)) throw invalidHeader(`bad PAX ${key} ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw invalidHeader(`PAX ${key} ${v} is too large`);
  return n;
}

/** The block's fields, overridden by PAX records, then by GNU long names (Go's order). */
function mergeHeader(
  h: BlockHeader,
  records: Array<[string, Buffer]>,
  longName: string | undefined,
  longLink: string | undefined,
): TarHeader {
  const header: TarHeader = {
    name: h.name,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime: new Date(h.mtime * 1000),
    type: 'file',
    linkname: h.linkname,
    uname: h.uname,
    gname: h.gname,
    devmajor: h.devmajor,
    devminor: h.devminor,
    xattrs: {},
    pax: {},
  };
  if (h.atime !== undefined) header.atime = new Date(h.atime * 1000);
  if (h.ctime !== undefined) header.ctime = new Date(h.ctime * 1000);
  let sparse = h.typeflag === 'S';
  for (const [key, buf] of records) {
    const v = buf.toString('utf8');
    header.pax[key] = v;
    switch (key) {
      case 'path':
        header.name = v;
        break;
      case 'linkpath':
        header.linkname = v;
        break;
      case 'uname':
        header.uname = v;
        break;
      case 'gname':
        header.gname = v;
        break;
      case 'uid':
        header.uid = parseDecimal(v, key);
        break;
      case 'gid':
        header.gid = parseDecimal(v, key);
        break;
      case 'size':
        header.size = parseDecimal(v, key);
        break;
      case 'mtime': {
        const ns = parsePaxTime(v, key);
        header.mtime = nsToDate(ns);
        header.mtimeNs = ns;
        break;
      }
      case 'atime':
        header.atime = nsToDate(parsePaxTime(v, key));
        break;
      case 'ctime':
        header.ctime = nsToDate(parsePaxTime(v, key));
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) header.xattrs[key.slice('SCHILY.xattr.'.length)] = buf;
        else if (key.startsWith('GNU.sparse.')) sparse = true;
    }
  }
  if (longName !== undefined && longName !== '') header.name = longName;
  if (longLink !== undefined && longLink !== '') header.linkname = longLink;
  if (sparse) throw new InvalidParameter(`archive/tar: unsupported sparse file ${header.name}`);

  if (h.typeflag === '\0') {
    header.type = header.name.endsWith('/') ? 'dir' : 'file';
  } else {
    const t = TYPES[h.typeflag];
    if (t === undefined) {
      throw new InvalidParameter(
        `unhandled tar header type ${h.typeflag.charCodeAt(0)} (${JSON.stringify(h.typeflag)}) for ${header.name}`,
      );
    }
    header.type = t;
  }
  if (header.size < 0) throw invalidHeader(`negative size ${header.size} for ${header.name}`);
  // Links, devices, directories and fifos carry no data whatever their size field says (Go).
  if (header.type !== 'file') header.size = 0;
  return header;
}
