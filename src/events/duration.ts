/**
 * Go's time.ParseDuration, because `since`/`until` accept Go durations ("10m", "1h30m",
 * "1.5h", "-2s") the way the docker CLI does. Returns nanoseconds, or undefined when `s` is
 * not a duration.
 */
const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const PART = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

export function parseDuration(s: string): bigint | undefined {
  let rest = s;
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1n;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest !== '') {
    const m = PART.exec(rest);
    if (!m) return undefined;
    const [all, whole = '', frac, unitName = ''] = m;
    if (whole === '' && (frac === undefined || frac === '')) return undefined;
    const unit = UNITS[unitName];
    if (unit === undefined) return undefined;
    total += BigInt(whole || '0') * unit;
    // Go keeps the fraction exact to the nanosecond and drops the rest.
    if (frac) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    rest = rest.slice(all.length);
  }
  return sign * total;
}
