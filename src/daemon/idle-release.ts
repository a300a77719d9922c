/**
 * Hands memory back to the kernel once the daemon has gone quiet after work. V8 grows its heap
 * to the peak of a burst and gives the pages back when its memory reducer gets round to it,
 * which after a long load can be minutes later; malloc keeps what its arenas freed. Once no
 * request has come for `quietMs`, one release (native.releaseMemory: a compacting collection
 * and malloc_trim, ~15 ms on a daemon's heap) returns both, as Go's scavenger does for dockerd.
 * At most one release per quiet spell: a daemon left idle is not collected again and again.
 */
export class IdleRelease {
  readonly #release: () => void;
  readonly #quietMs: number;
  readonly #timer: NodeJS.Timeout;
  #last = Date.now();
  // Start-up's own garbage is the first thing to give back.
  #dirty = true;

  constructor(release: () => void, opts: { quietMs?: number } = {}) {
    this.#release = release;
    this.#quietMs = opts.quietMs ?? 10_000;
    this.#timer = setInterval(() => this.#check(), Math.max(1, this.#quietMs / 2));
    this.#timer.unref();
  }

  /** Some work began (an API request): the quiet spell starts again. */
  touch(): void {
    this.#last = Date.now();
    this.#dirty = true;
  }

  #check(): void {
    if (!this.#dirty || Date.now() - this.#last < this.#quietMs) return;
    this.#dirty = false;
    this.#release();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
