import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { SystemError, errorMessage } from '../lib/errors.js';
import type { TarEntry } from './reader.js';

/**
 * Our tar-split. When a layer tar is applied to a directory, the recorder keeps what the
 * files on disk cannot give back: every byte of the stream that is not a regular file's
 * content (headers verbatim, padding, the trailer), and for each regular file its path in
 * the layer and its size. `assemble` then rebuilds the identical tar from the directory, so
 * that the layer's diff ID (sha256 of the uncompressed tar) survives a save → load round trip.
 *
 * The split file is gzipped JSON lines:
 *   {"v":1}                       format version, first line
 *   {"r":"<base64>"}              raw bytes, emitted as they are
 *   {"f":"<path>","s":<size>}     the content of a regular file, read from the layer
 */

const VERSION = 1;
/** Raw bytes are flushed in records of at most this many bytes. */
const MAX_RAW_RECORD = 1 << 20;
/** JSON text is handed to gzip in batches of about this many characters. */
const TEXT_BATCH = 1 << 16;

/** The path an entry's file has in the layer: cleaned, relative, never above the root. */
export function layerPath(name: string): string {
  return posix.join('/', name).slice(1).replace(/\/+$/, '');
}

/**
 * Records a tar stream as it is read. Feed it every entry in order (`await recorder.entry(e)`
 * as the reader yields it) and then the trailer (`readTar(input, { onTrailer: (b) =>
 * recorder.trailer(b) })`), then `finish()`. Output goes to `out` if given (gzip, with
 * back-pressure), else is kept for `toBuffer()`.
 */
export class SplitRecorder {
  readonly #gzip = createGzip();
  readonly #done: Promise<void>;
  readonly #chunks: Buffer[] = [];
  readonly #toMemory: boolean;
  #raw: Buffer[] = [];
  #text: string[] = [];
  #textLen = 0;
  #rawLen = 0;
  #last: TarEntry | undefined;
  #finished = false;

  constructor(out?: Writable) {
    this.#toMemory = out === undefined;
    const sink =
      out ??
      new PassThrough().on('data', (c: Buffer) => {
        this.#chunks.push(c);
      });
    this.#done = pipeline(this.#gzip, sink);
    // A failure surfaces from the next write or from finish(); never as an unhandled rejection.
    this.#done.catch(() => {});
    this.#queueLine({ v: VERSION });
  }

  /** Lines are batched: zlib costs per write, and a layer can have many small entries. */
  #queueLine(record: object): void {
    const line = JSON.stringify(record) + '\n';
    this.#text.push(line);
    this.#textLen += line.length;
  }

  async #line(record: object): Promise<void> {
    this.#queueLine(record);
    if (this.#textLen >= TEXT_BATCH) await this.#flushText();
  }

  async #flushText(): Promise<void> {
    if (this.#textLen === 0) return;
    const text = this.#text.join('');
    this.#text = [];
    this.#textLen = 0;
    if (this.#gzip.destroyed) {
      await this.#done;
      throw new SystemError('tar-split output closed');
    }
    if (!this.#gzip.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.#gzip.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          this.#gzip.off('drain', onDrain);
          reject(new SystemError('tar-split output closed'));
        };
        this.#gzip.once('drain', onDrain);
        this.#gzip.once('close', onClose);
      });
    }
  }

  #addRaw(b: Buffer): void {
    if (b.length === 0) return;
    this.#raw.push(b);
    this.#rawLen += b.length;
  }

  async #flushRaw(force: boolean): Promise<void> {
    if (this.#rawLen === 0 || (!force && this.#rawLen < MAX_RAW_RECORD)) return;
    const b = Buffer.concat(this.#raw);
    this.#raw = [];
    this.#rawLen = 0;
    await this.#line({ r: b.toString('base64') });
  }

  /** The previous entry's padding is final once the reader has moved past it. */
  #takePadding(): void {
    if (this.#last) this.#addRaw(this.#last.padding);
    this.#last = undefined;
  }

  async entry(e: TarEntry): Promise<void> {
    if (this.#finished) throw new SystemError('tar-split recorder is finished');
    this.#takePadding();
    this.#addRaw(e.raw);
    if (e.header.type === 'file' && e.header.size > 0) {
      await this.#flushRaw(true);
      await this.#line({ f: layerPath(e.header.name), s: e.header.size });
    } else {
      await this.#flushRaw(false);
    }
    this.#last = e;
  }

  /** The bytes after the last entry. */
  async trailer(bytes: Buffer): Promise<void> {
    this.#takePadding();
    this.#addRaw(bytes);
    await this.#flushRaw(false);
  }

  /** Writes what is pending and ends the output; resolves once `out` has it all. */
  async finish(): Promise<void> {
    if (!this.#finished) {
      this.#finished = true;
      this.#takePadding();
      await this.#flushRaw(true);
      await this.#flushText();
      this.#gzip.end();
    }
    await this.#done;
  }

  /** finish(), then the gzipped split (only when no `out` was given). */
  async toBuffer(): Promise<Buffer> {
    if (!this.#toMemory) throw new SystemError('tar-split recorder writes to a stream');
    await this.finish();
    return Buffer.concat(this.#chunks);
  }
}

async function* lines(split: Readable): AsyncGenerator<string> {
  const gunzip = createGunzip();
  split.on('error', (err) => gunzip.destroy(err));
  split.pipe(gunzip);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const parts = (rest + decoder.write(chunk)).split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p !== '') yield p;
    }
  } catch (err) {
    throw new SystemError(`cannot read tar-split: ${errorMessage(err)}`, { cause: err });
  } finally {
    split.destroy();
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

type SplitRecord = { raw: string } | { path: string; size: number };

async function* parse(split: Readable | Buffer): AsyncGenerator<SplitRecord> {
  const input = Buffer.isBuffer(split) ? Readable.from([split]) : split;
  let first = true;
  for await (const line of lines(input)) {
    let rec: { v?: unknown; r?: unknown; f?: unknown; s?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch (err) {
      throw new SystemError('corrupt tar-split record', { cause: err });
    }
    if (first) {
      if (rec.v !== VERSION) throw new SystemError(`unsupported tar-split version ${JSON.stringify(rec.v)}`);
      first = false;
    } else if (typeof rec.r === 'string') {
      yield { raw: rec.r };
    } else if (typeof rec.f === 'string' && Number.isSafeInteger(rec.s) && (rec.s as number) >= 0) {
      yield { path: rec.f, size: rec.s as number };
    } else {
      throw new SystemError('corrupt tar-split record');
    }
  }
  if (first) throw new SystemError('empty tar-split');
}

async function* records(split: Readable | Buffer, open: (path: string) => Promise<Readable>): AsyncGenerator<Buffer> {
  for await (const rec of parse(split)) {
    if ('raw' in rec) {
      yield Buffer.from(rec.raw, 'base64');
      continue;
    }
    const { path, size } = rec;
    const body = await open(path);
    let n = 0;
    try {
      for await (const c of body as AsyncIterable<Buffer | string>) {
        const chunk = typeof c === 'string' ? Buffer.from(c) : c;
        n += chunk.length;
        if (n > size) throw new SystemError(`layer file ${path} is larger than the ${size} bytes recorded`);
        yield chunk;
      }
    } finally {
      body.destroy();
    }
    if (n !== size) throw new SystemError(`layer file ${path} has ${n} bytes, ${size} recorded`);
  }
}

/**
 * The length of the tar that `assemble` would produce, from the split alone (a path, or the
 * split's bytes or stream): what `docker save` needs to write a layer.tar header first.
 */
export async function splitSize(split: string | Readable | Buffer): Promise<number> {
  const input = typeof split === 'string' ? createReadStream(split) : split;
  let total = 0;
  for await (const rec of parse(input)) total += 'raw' in rec ? Buffer.byteLength(rec.raw, 'base64') : rec.size;
  return total;
}

/**
 * Rebuilds the original tar from a split (gzipped, as the recorder wrote it) and the layer's
 * files, read through `open` (a path relative to the layer root). A file whose size is not
 * the one recorded fails the stream.
 */
export function assemble(split: Readable | Buffer, open: (path: string) => Promise<Readable>): Readable {
  return Readable.from(records(split, open), { objectMode: false });
}
