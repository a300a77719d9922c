import { PassThrough, type Readable } from 'node:stream';

/**
 * A jsonmessage stream as dockerd writes it for pull and push: status lines, per-layer
 * updates keyed by a short ID (the CLI redraws one line per ID), bars with progressDetail,
 * an aux object, and at most one error, which ends the stream.
 */
export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  error?: string;
  errorDetail?: { message: string };
  aux?: unknown;
}

const THROTTLE_MS = 100;

export class Progress {
  readonly #out = new PassThrough({ objectMode: true, highWaterMark: 256 });
  readonly #last = new Map<string, number>();
  #started = false;
  #onStart: (() => void) | undefined;
  readonly started: Promise<void>;

  constructor() {
    this.started = new Promise((resolve) => { this.#onStart = resolve; });
  }

  get stream(): Readable { return this.#out; }
  /** True once a message went out: an error must then travel in-band. */
  get flushed(): boolean { return this.#started; }

  #push(m: JsonMessage): void {
    if (this.#out.destroyed || this.#out.writableEnded) return;
    this.#out.write(m);
    if (!this.#started) {
      this.#started = true;
      this.#onStart?.();
    }
  }

  /** A plain status line (`Digest: ...`), or one bound to an ID without a detail (`Pulling from`). */
  message(status: string, id?: string): void {
    this.#push(id ? { status, id } : { status });
  }

  /** A per-layer state change (`Pulling fs layer`, `Download complete`, ...). */
  update(id: string, status: string): void {
    this.#last.delete(`${id}|${status}`);
    this.#push({ status, progressDetail: {}, id });
  }

  /** A bar; updates closer together than 100 ms are dropped, except the last one. */
  bar(id: string, status: string, current: number, total: number): void {
    const key = `${id}|${status}`;
    const now = Date.now();
    const last = this.#last.get(key) ?? 0;
    if (current < total && now - last < THROTTLE_MS) return;
    this.#last.set(key, now);
    this.#push({ status, progressDetail: { current, total }, progress: progressBar(current, total), id });
  }

  aux(value: unknown): void {
    this.#push({ progressDetail: {}, aux: value });
  }

  error(message: string): void {
    this.#push({ errorDetail: { message }, error: message });
  }

  end(): void {
    if (!this.#started) {
      this.#started = true;
      this.#onStart?.();
    }
    if (!this.#out.writableEnded) this.#out.end();
  }
}

/** go-units HumanSizeWithPrecision(n, 4): decimal units, four significant digits. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** dockerd's bar text: `[=====>      ]  1.049MB/2.097MB`. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  if (total <= 0) return `${humanSize(current).padStart(8)}`;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}]`;
  return `${bar} ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}
