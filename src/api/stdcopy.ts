import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter, SystemError } from '../lib/errors.js';

/**
 * Docker's multiplexed stream ("stdcopy"): what attach, exec and logs send when the container
 * has no TTY. Each frame is an 8-byte header — the stream type, three zero bytes, the payload
 * length as a big-endian uint32 — followed by the payload.
 */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
/** An error from the daemon itself, sent in-band once the stream has begun. */
export const SYSTEMERR = 3;
export type StreamType = typeof STDIN | typeof STDOUT | typeof STDERR | typeof SYSTEMERR;

const HEADER = 8;
const MAX_PAYLOAD = 0xffff_ffff;

/** One frame holding `payload` on stream `stream`. */
export function frame(stream: StreamType, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > MAX_PAYLOAD) throw new InvalidParameter(`stdcopy frame too large: ${body.length} bytes`);
  const out = Buffer.allocUnsafe(HEADER + body.length);
  out.writeUInt32BE(0, 0);
  out[0] = stream;
  out.writeUInt32BE(body.length, 4);
  body.copy(out, HEADER);
  return out;
}

/**
 * Frames every chunk written to it as one frame on one stream, as dockerd's StdWriter does.
 * Empty chunks are dropped: a zero-length frame means nothing to a reader and old clients
 * mistake it for the end.
 */
export class StdWriter extends Transform {
  readonly #stream: StreamType;

  constructor(stream: StreamType) {
    super();
    this.#stream = stream;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done();
    try {
      done(null, frame(this.#stream, chunk));
    } catch (err) {
      done(err as Error);
    }
  }
}

/**
 * Splits a multiplexed stream into its stdout and stderr, across any chunk boundaries.
 * Payload bytes go to the destination as they arrive, so a large frame is never held whole,
 * and a chunk is not acknowledged until the destination has taken it (back-pressure).
 * Stdin frames go to stdout, as in Docker's StdCopy. A systemerr frame fails the stream with its
 * text; a truncated last frame ends it quietly, as StdCopy does. The destinations are not ended.
 */
export class StdDemux extends Writable {
  readonly #stdout: Writable;
  readonly #stderr: Writable;
  readonly #header = Buffer.alloc(HEADER);
  #headerFill = 0;
  /** Payload bytes left in the current frame; meaningful when the header is complete. */
  #remaining = 0;
  #type = 0;
  /** Only systemerr payloads are collected, to become the error message. */
  #sysErr: Buffer[] = [];

  constructor(stdout: Writable, stderr: Writable) {
    super();
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#consume(chunk).then(() => done(), (err: Error) => done(err));
  }

  async #consume(chunk: Buffer): Promise<void> {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#headerFill < HEADER) {
        const n = Math.min(HEADER - this.#headerFill, chunk.length - pos);
        chunk.copy(this.#header, this.#headerFill, pos, pos + n);
        this.#headerFill += n;
        pos += n;
        if (this.#headerFill < HEADER) return;
        this.#type = this.#header[0]!;
        if (this.#type > SYSTEMERR) throw new InvalidParameter(`Unrecognized input header: ${this.#type}`);
        this.#remaining = this.#header.readUInt32BE(4);
      }
      const n = Math.min(this.#remaining, chunk.length - pos);
      if (n > 0) await this.#deliver(chunk.subarray(pos, pos + n));
      pos += n;
      this.#remaining -= n;
      if (this.#remaining === 0) this.#endFrame();
    }
  }

  async #deliver(piece: Buffer): Promise<void> {
    if (this.#type === SYSTEMERR) {
      this.#sysErr.push(Buffer.from(piece));
      return;
    }
    const dest = this.#type === STDERR ? this.#stderr : this.#stdout;
    if (!dest.write(piece)) await drained(dest);
  }

  #endFrame(): void {
    this.#headerFill = 0;
    if (this.#type === SYSTEMERR) {
      const message = Buffer.concat(this.#sysErr).toString('utf8');
      this.#sysErr = [];
      throw new SystemError(message);
    }
  }
}

/** Resolves when `dest` wants more, rejects if it fails or closes first. */
function drained(dest: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      dest.off('drain', onDrain);
      dest.off('error', onError);
      dest.off('close', onClose);
    };
    const onDrain = () => { cleanup(); resolve(); };
    const onError = (err: Error) => { cleanup(); reject(err); };
    const onClose = () => { cleanup(); reject(new SystemError('stdcopy destination closed')); };
    dest.on('drain', onDrain);
    dest.on('error', onError);
    dest.on('close', onClose);
  });
}

/** Copies a multiplexed `input` into `stdout` and `stderr`; see StdDemux. */
export async function demux(input: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  await pipeline(input, new StdDemux(stdout, stderr));
}
