import { Transform, type TransformCallback } from 'node:stream';
import { constants, createGzip, type Gzip } from 'node:zlib';

/** Input between two looks at how well the data compresses. */
const SEGMENT = 1 << 20;
/** A segment that deflates to more than this share of its size is not worth deflating. */
const INCOMPRESSIBLE = 0.97;
/** While storing, every this many segments one is deflated again to see if that changed. */
const PROBE_EVERY = 4;

/**
 * The gzip stream of a layer for a push. Deflate works as hard on data that does not compress
 * (already compressed files, random bytes) as on text, for nothing: 60 MB of random bytes take
 * zlib's default level 1.3 s and level 0 (stored) 0.1 s. So the stream looks at each 1 MiB it
 * deflated, and while the data does not shrink it stores what follows, deflating one segment in
 * every four again to notice when compressible data comes back.
 *
 * A change of level starts a new gzip member (Node's params() cannot change the level of a
 * running stream: zlib answers Z_BUF_ERROR and Node leaves the level as it was). Concatenated
 * members are one gzip stream to every reader a registry client uses (Go's gzip.Reader reads
 * multistream by default, as do zlib, pigz and Node). Data that compresses is deflated at
 * zlib's default level in one member, exactly as a plain gzip stream.
 */
export class LayerGzip extends Transform {
  #gz: Gzip;
  #in = 0;
  #out = 0;
  #storing = false;
  #stored = 0;
  #paused = false;

  constructor() {
    super();
    this.#gz = this.#member(constants.Z_DEFAULT_COMPRESSION);
  }

  #member(level: number): Gzip {
    const gz = createGzip({ level, chunkSize: 256 * 1024 });
    gz.on('data', (c: Buffer) => {
      this.#out += c.length;
      if (!this.push(c)) {
        this.#paused = true;
        gz.pause();
      }
    });
    gz.on('error', (err) => this.destroy(err));
    return gz;
  }

  override _read(size: number): void {
    if (this.#paused) {
      this.#paused = false;
      this.#gz.resume();
    }
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#in += chunk.length;
    const next = () => (this.#in >= SEGMENT ? this.#decide(cb) : cb());
    if (this.#gz.write(chunk)) next();
    else this.#gz.once('drain', next);
  }

  override _flush(cb: TransformCallback): void {
    this.#end(this.#gz, () => cb());
  }

  #end(gz: Gzip, done: () => void): void {
    gz.once('end', done);
    gz.end();
  }

  /** At a segment's end: how did it compress, and how should the next one be written? */
  #decide(cb: TransformCallback): void {
    const choose = () => {
      let store: boolean;
      if (!this.#storing) store = this.#out / this.#in > INCOMPRESSIBLE;
      else store = ++this.#stored % PROBE_EVERY !== 0;
      this.#in = 0;
      this.#out = 0;
      if (store === this.#storing) return cb();
      this.#storing = store;
      this.#end(this.#gz, () => {
        this.#gz = this.#member(store ? 0 : constants.Z_DEFAULT_COMPRESSION);
        // What the old member's trailer added is not the new segment's.
        this.#out = 0;
        cb();
      });
    };
    // Storing needs no look: the probe segments are deflated ones.
    if (this.#storing) choose();
    else this.#gz.flush(constants.Z_SYNC_FLUSH, choose);
  }
}
