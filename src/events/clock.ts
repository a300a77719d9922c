/**
 * The event clock: nanoseconds since the epoch, strictly increasing from one event to the next
 * so that an event log sorted by time is the order events happened in.
 *
 * Sub-millisecond precision comes from process.hrtime anchored to the wall clock, re-anchored
 * whenever the two drift apart (NTP steps, suspend) so timestamps stay wall-clock times.
 * Values are whole multiples of QUANTUM (1024 ns): a double holds every such value exactly
 * below 2^63, so the `timeNano` number of a message equals the bigint Berth compares with.
 */
export const QUANTUM = 1024n;
const REANCHOR_NS = 2_000_000n;

export class Clock {
  #wallAnchor = 0n;
  #hrAnchor = 0n;
  #last = 0n;

  /** The last time handed out; every later one is greater. */
  get last(): bigint {
    return this.#last;
  }

  now(): bigint {
    const wall = BigInt(Date.now()) * 1_000_000n;
    const hr = process.hrtime.bigint();
    let t = this.#wallAnchor + (hr - this.#hrAnchor);
    if (this.#wallAnchor === 0n || t - wall > REANCHOR_NS || wall - t > REANCHOR_NS) {
      this.#wallAnchor = wall;
      this.#hrAnchor = hr;
      t = wall;
    }
    t -= t % QUANTUM;
    if (t <= this.#last) t = this.#last + QUANTUM;
    this.#last = t;
    return t;
  }
}
