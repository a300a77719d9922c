/**
 * The few Go fmt renderings that end up in image history: dockerd writes commit messages with
 * `%q` and `%v`, so `CMD %q` of a []string, a time.Duration's String() and a rune quoted by
 * strconv.QuoteRune (HEALTHCHECK's retry count) must read exactly as Go prints them.
 */

/** `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(l: string[] | null | undefined): string {
  return `[${(l ?? []).map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** A fraction without trailing zeros, as Go's fmtFrac. */
function frac(v: number, unit: number): string {
  const whole = Math.floor(v / unit);
  const rest = v % unit;
  if (rest === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

/** time.Duration.String() for a duration in nanoseconds: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${v}ns`;
  else if (v < 1e6) out = `${frac(v, 1e3)}µs`;
  else if (v < 1e9) out = `${frac(v, 1e6)}ms`;
  else {
    const h = Math.floor(v / 3600e9);
    v -= h * 3600e9;
    const m = Math.floor(v / 60e9);
    v -= m * 60e9;
    out = `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${frac(v, 1e9)}s`;
  }
  return neg ? `-${out}` : out;
}

/** The inside of strconv.QuoteRune's quotes, for the small integers a retry count is. */
export function goRune(n: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 39: "\\'", 92: '\\\\' };
  if (named[n]) return named[n]!;
  if (n < 32 || n === 127) return `\\x${n.toString(16).padStart(2, '0')}`;
  if (n < 127) return String.fromCharCode(n);
  if (n >= 0x80 && n < 0xa0) return `\\u${n.toString(16).padStart(4, '0')}`;
  return String.fromCodePoint(n);
}
