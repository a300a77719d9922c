/**
 * Log timestamps are bigint nanoseconds since the Unix epoch. On disk and on the wire they are
 * written as dockerd's RFC3339NanoFixed ("2006-01-02T15:04:05.000000000Z07:00", always UTC here):
 * unlike Go's RFC3339Nano, the fraction keeps all nine digits.
 */
export function formatTime(ns: bigint): string {
  const ms = ns / 1_000_000n;
  let frac = ns % 1_000_000_000n;
  let secondsMs = ms - (ms % 1000n);
  if (frac < 0n) {
    frac += 1_000_000_000n;
    secondsMs -= 1000n;
  }
  const iso = new Date(Number(secondsMs)).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Reads an RFC 3339 time with up to nine fraction digits; undefined if it is not one. */
export function parseTime(value: string): bigint | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const zone = m[3] === 'Z' ? 'Z' : m[3]!;
  const ms = Date.parse(`${m[1]}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * A nanosecond wall clock that never goes backwards: the monotonic hrtime, anchored once to the
 * wall clock. Each reading is strictly later than the one before, so lines keep their order.
 */
export class NanoClock {
  readonly #anchorWall = BigInt(Date.now()) * 1_000_000n;
  readonly #anchorMono = process.hrtime.bigint();
  #last = 0n;

  now(): bigint {
    let t = this.#anchorWall + (process.hrtime.bigint() - this.#anchorMono);
    if (t <= this.#last) t = this.#last + 1n;
    this.#last = t;
    return t;
  }
}
