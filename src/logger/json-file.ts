import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { InvalidParameter } from '../lib/errors.js';
import { extraAttributes, type LogInfo } from './attrs.js';
import { encodeAttrs, encodeRecord } from './encode.js';
import { parseJsonFileOpts, type JsonFileOptions } from './options.js';
import { LineSplitter, type LogMessage } from './split.js';
import { NanoClock } from './time.js';

/**
 * The json-file log driver: a container's output as one JSON record a line in
 * `<container dir>/<id>-json.log`, rotated to `.1`, `.2`… (gzipped with compress) when it
 * reaches max-size, as dockerd's jsonfilelog and loggerutils.LogFile do. Writes are queued and
 * each `log` resolves once its record is on disk, so a slow disk slows the copier.
 */
export class JsonFileLogger {
  readonly #path: string;
  readonly #opts: JsonFileOptions;
  readonly #attrs: string | undefined;
  readonly #clock = new NanoClock();
  readonly #splitters: Record<'stdout' | 'stderr', LineSplitter>;
  #file: FileHandle;
  #size: number;
  /** The queue of writes: each runs after the one before, failed or not. */
  #queue: Promise<void> = Promise.resolve();
  /** Gzipping of the last rotated file, awaited before the next rotation and on close. */
  #compressing: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(path: string, opts: JsonFileOptions, attrs: string | undefined, file: FileHandle, size: number) {
    this.#path = path;
    this.#opts = opts;
    this.#attrs = attrs;
    this.#file = file;
    this.#size = size;
    const now = () => this.#clock.now();
    this.#splitters = { stdout: new LineSplitter('stdout', now), stderr: new LineSplitter('stderr', now) };
  }

  /**
   * Opens (appending to) the log at `path` with the driver's options; a bad option value fails
   * as dockerd fails the start: "failed to initialize logging driver: …".
   */
  static async open(path: string, opts: Record<string, string>, info?: LogInfo): Promise<JsonFileLogger> {
    let parsed: JsonFileOptions;
    let attrs: Record<string, string> | undefined;
    try {
      parsed = parseJsonFileOpts(opts);
      attrs = extraAttributes(opts, info);
    } catch (err) {
      throw new InvalidParameter(`failed to initialize logging driver: ${(err as Error).message}`, { cause: err });
    }
    const file = await open(path, 'a', 0o640);
    const { size } = await file.stat();
    return new JsonFileLogger(path, parsed, attrs ? encodeAttrs(attrs) : undefined, file, size);
  }

  get path(): string {
    return this.#path;
  }

  /** Writes one message; resolves once it is written. */
  log(msg: LogMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('json-file logger is closed'));
    const line = msg.partial ? msg.line : Buffer.concat([msg.line, NEWLINE]);
    const record = encodeRecord(line, msg.stream, msg.time ?? this.#clock.now(), this.#attrs);
    const done = this.#queue.then(() => this.#write(record));
    this.#queue = done.catch(() => {});
    return done;
  }

  /** Resolves once every record queued so far is written (or failed). */
  settled(): Promise<void> {
    return this.#queue;
  }

  /** Splits a raw chunk of a stream into lines and writes them. */
  async logChunk(stream: 'stdout' | 'stderr', chunk: Buffer): Promise<void> {
    await Promise.all(this.#splitters[stream].push(chunk).map((m) => this.log(m)));
  }

  /** Writes the unterminated rest of a stream that has ended, as a partial line. */
  async endStream(stream: 'stdout' | 'stderr'): Promise<void> {
    await Promise.all(this.#splitters[stream].end().map((m) => this.log(m)));
  }

  /** Flushes what is left of both streams, waits for pending writes and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([this.endStream('stdout'), this.endStream('stderr')]);
    this.#closed = true;
    await this.#queue;
    await this.#compressing;
    await this.#file.close();
  }

  async #write(record: Buffer): Promise<void> {
    // dockerd checks before each write: a file may pass max-size by one record.
    if (this.#opts.maxSize !== -1 && this.#size >= this.#opts.maxSize) await this.#rotate();
    let off = 0;
    while (off < record.length) {
      const { bytesWritten } = await this.#file.write(record, off, record.length - off);
      off += bytesWritten;
    }
    this.#size += record.length;
  }

  async #rotate(): Promise<void> {
    const { maxFile, compress } = this.#opts;
    await this.#file.close();
    if (maxFile < 2) {
      await truncate(this.#path, 0);
    } else {
      await this.#compressing;
      const ext = compress ? '.gz' : '';
      await rm(`${this.#path}.${maxFile - 1}${ext}`, { force: true });
      for (let i = maxFile - 1; i > 1; i--) await renameIfExists(`${this.#path}.${i - 1}${ext}`, `${this.#path}.${i}${ext}`);
      await renameIfExists(this.#path, `${this.#path}.1`);
    }
    this.#file = await open(this.#path, 'a', 0o640);
    this.#size = 0;
    if (maxFile >= 2 && compress) {
      this.#compressing = gzipFile(`${this.#path}.1`).catch(() => {});
    }
  }
}

const NEWLINE = Buffer.from('\n');

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Replaces `path` with `path.gz`; the .gz appears whole (temp file and rename) before `path` goes. */
async function gzipFile(path: string): Promise<void> {
  const tmp = `${path}.gz.tmp`;
  await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp, { mode: 0o640 }));
  await rename(tmp, `${path}.gz`);
  await rm(path, { force: true });
}

/** Something that takes a stream's raw chunks: a log driver. */
export interface ChunkSink {
  logChunk(stream: 'stdout' | 'stderr', chunk: Buffer): Promise<void>;
  endStream?(stream: 'stdout' | 'stderr'): Promise<void>;
}

/** Copies a process's output stream into a logger, line by line, with back-pressure. */
export async function copyStream(readable: Readable, stream: 'stdout' | 'stderr', logger: ChunkSink): Promise<void> {
  for await (const chunk of readable) {
    await logger.logChunk(stream, typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  await logger.endStream?.(stream);
}
