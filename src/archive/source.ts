import type { Readable } from 'node:stream';

/**
 * Pulls bytes from a Readable on demand: exact-length reads for header blocks, and chunks as
 * they come for bodies, so that nothing is read ahead of what the consumer asked for beyond the
 * one chunk the stream delivered. One operation at a time; the caller serialises.
 */
export class ByteSource {
  readonly #it: AsyncIterator<Buffer | string>;
  #bufs: Buffer[] = [];
  #len = 0;
  #eof = false;
  #offset = 0;

  constructor(input: Readable) {
    this.#it = input[Symbol.asyncIterator]();
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const r = await this.#it.next();
    if (r.done) {
      this.#eof = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    if (chunk.length > 0) {
      this.#bufs.push(chunk);
      this.#len += chunk.length;
    }
    return true;
  }

  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.#bufs[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#bufs.shift();
      else this.#bufs[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let pos = 0;
      while (pos < n) {
        const b = this.#bufs[0]!;
        const k = Math.min(b.length, n - pos);
        b.copy(out, pos, 0, k);
        pos += k;
        if (k === b.length) this.#bufs.shift();
        else this.#bufs[0] = b.subarray(k);
      }
    }
    this.#len -= n;
    this.#offset += n;
    return out;
  }

  /** Exactly `n` bytes, fewer only at end of stream. The result may share memory with the input. */
  async read(n: number): Promise<Buffer> {
    while (this.#len < n && (await this.#fill()));
    return this.#take(Math.min(n, this.#len));
  }

  /** Up to `max` bytes of what is buffered, pulling one more chunk when nothing is; empty at end. */
  async chunk(max: number): Promise<Buffer> {
    while (this.#len === 0 && (await this.#fill()));
    return this.#take(Math.min(max, this.#len, this.#bufs[0]?.length ?? 0));
  }

  /** Discards up to `n` bytes; returns how many were there. */
  async skip(n: number): Promise<number> {
    let done = 0;
    while (done < n) {
      const c = await this.chunk(n - done);
      if (c.length === 0) break;
      done += c.length;
    }
    return done;
  }

  /** Everything up to the end of the stream. */
  async rest(): Promise<Buffer> {
    while (await this.#fill());
    return this.#take(this.#len);
  }

  /** Stops reading; the input stream is destroyed unless it has ended. */
  async close(): Promise<void> {
    this.#bufs = [];
    this.#len = 0;
    await this.#it.return?.();
  }
}
