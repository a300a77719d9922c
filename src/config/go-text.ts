/**
 * Go's text forms, reproduced where dockerd prints them in a message users grep for: `%v` of a
 * decoded JSON value (conflict messages), `%q` of a string, and strconv's parse errors.
 */

/** `%v` of a value from encoding/json's `interface{}` decoding. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return goFloat(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    // Go prints maps with their keys sorted.
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]`;
  }
  return String(v);
}

/** `%v` of a float64: Go's shortest %g, which switches to exponent form below 1e-4 and from 1e6 (1e+06). */
function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  if (n === 0) return '0';
  const [mant, pow] = n.toExponential().split('e') as [string, string];
  const exp = Number(pow);
  if (exp < -4 || exp >= 6) {
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mant}e${exp < 0 ? '-' : '+'}${digits}`;
  }
  return String(n);
}

/** `%q` of a string; JSON's escaping matches Go's for the printable cases that matter here. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** strconv.ParseInt(s, base, 64) as Go does it, with Go's error text. base 0 honours 0x/0o/0b/0 prefixes. */
export function parseGoInt(s: string, base: 0 | 10 = 10): number {
  const fail = (why: string): never => {
    throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: ${why}`);
  };
  const m = /^([+-]?)(.*)$/s.exec(s) as RegExpExecArray;
  const sign = m[1] === '-' ? -1n : 1n;
  let body = m[2] as string;
  let radix = 10;
  if (base === 0) {
    if (/^0[xX]/.test(body)) { radix = 16; body = body.slice(2); }
    else if (/^0[bB]/.test(body)) { radix = 2; body = body.slice(2); }
    else if (/^0[oO]/.test(body)) { radix = 8; body = body.slice(2); }
    else if (/^0./.test(body)) { radix = 8; body = body.slice(1); }
  }
  const digit = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[radix] as RegExp;
  if (!digit.test(body)) fail('invalid syntax');
  let v = 0n;
  for (const ch of body.toLowerCase()) v = v * BigInt(radix) + BigInt(parseInt(ch, 16));
  v *= sign;
  if (v > 9223372036854775807n || v < -9223372036854775808n) fail('value out of range');
  // Beyond 2^53 a JS number would silently lose digits: refuse rather than guess.
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail('value out of range');
  return Number(v);
}

/** strconv.ParseBool, as pflag uses it for `--flag=value` on bool flags. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}
