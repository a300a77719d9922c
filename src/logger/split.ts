/**
 * A log message: one line of a container's output, without its newline. A "partial" message is
 * a piece of a line longer than the copier's buffer (or the unterminated end of the output):
 * the json-file driver writes it without the newline that ends a complete line.
 */
export interface LogMessage {
  stream: 'stdout' | 'stderr';
  line: Buffer;
  /** Nanoseconds since the epoch; the logger's clock when absent. */
  time?: bigint;
  partial?: boolean;
}

/** dockerd's copier buffer: a line that fills it without a newline is flushed as a partial. */
export const MAX_LINE = 16 * 1024;

/**
 * Turns the raw chunks of one output stream into messages as dockerd's copier does: a line
 * ends at "\n" (which is dropped); 16 KiB without a newline go out as a partial message; at the
 * end, an unterminated rest goes out as a partial. The pieces of one long line share the time
 * of its first piece, as in dockerd.
 */
export class LineSplitter {
  readonly #stream: 'stdout' | 'stderr';
  readonly #now: () => bigint;
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** The time of the first partial piece of the line being split, if any. */
  #partialTime: bigint | undefined;

  constructor(stream: 'stdout' | 'stderr', now: () => bigint) {
    this.#stream = stream;
    this.#now = now;
  }

  /** The messages completed by `chunk`. */
  push(chunk: Buffer): LogMessage[] {
    const out: LogMessage[] = [];
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl < 0 ? chunk.length : nl;
      // A line that fills the buffer before its newline arrives goes out in 16 KiB pieces.
      while (this.#pendingLength + (end - pos) >= MAX_LINE) {
        const take = MAX_LINE - this.#pendingLength;
        this.#append(chunk.subarray(pos, pos + take));
        out.push(this.#flush(true));
        pos += take;
      }
      this.#append(chunk.subarray(pos, end));
      if (nl < 0) break;
      out.push(this.#flush(false));
      pos = nl + 1;
    }
    return out;
  }

  /** The unterminated rest, as a partial message, when the stream ends. */
  end(): LogMessage[] {
    return this.#pendingLength > 0 ? [this.#flush(true)] : [];
  }

  #append(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#pending.push(piece);
    this.#pendingLength += piece.length;
  }

  #flush(partial: boolean): LogMessage {
    const line = Buffer.concat(this.#pending, this.#pendingLength);
    this.#pending = [];
    this.#pendingLength = 0;
    const time = this.#partialTime ?? this.#now();
    this.#partialTime = partial ? time : undefined;
    return { stream: this.#stream, line, time, partial };
  }
}
