/**
 * Reading json-file records back without JSON.parse. A record as the writer lays it out (and
 * dockerd's, without attrs) is
 *
 *     {"log":"<escaped bytes>","stream":"stdout","time":"<RFC 3339 nano>"}
 *
 * and `docker logs` of a large log is mostly decoding these: the log string's escapes are
 * undone byte by byte straight into the caller's buffer, with no string in between. Any other
 * layout (attrs, another key order, a damaged line) returns undefined and the caller falls back
 * to JSON.parse.
 */

const PREFIX = Buffer.from('{"log":"');
const STDOUT = Buffer.from(',"stream":"stdout"');
const STDERR = Buffer.from(',"stream":"stderr"');
const TIME = Buffer.from(',"time":"');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface FastRecord {
  stream: 'stdout' | 'stderr';
  /** End offset in `out` of the decoded log bytes (they start at the `at` passed in). */
  end: number;
  /** The time string, unparsed. */
  time: string;
}

/**
 * Decodes `raw` (one line, no newline) writing the log's bytes into `out` from `at`. `out`
 * must have room for raw.length bytes from `at`: a decoded string is never longer than its
 * escaped form.
 */
export function decodeRecord(raw: Buffer, out: Buffer, at: number): FastRecord | undefined {
  if (raw.length < PREFIX.length + 1 || !startsWith(raw, PREFIX, 0)) return undefined;
  let i = PREFIX.length;
  let o = at;
  const n = raw.length;
  for (;;) {
    // Copy the run up to the next quote or backslash in one go.
    let j = i;
    while (j < n && raw[j] !== QUOTE && raw[j] !== BACKSLASH) j++;
    if (j >= n) return undefined;
    o += raw.copy(out, o, i, j);
    i = j;
    if (raw[i] === QUOTE) break;
    // An escape.
    if (i + 1 >= n) return undefined;
    const e = raw[i + 1];
    i += 2;
    switch (e) {
      case 0x6e: out[o++] = 0x0a; break; // n
      case 0x74: out[o++] = 0x09; break; // t
      case 0x72: out[o++] = 0x0d; break; // r
      case 0x62: out[o++] = 0x08; break; // b
      case 0x66: out[o++] = 0x0c; break; // f
      case QUOTE: case BACKSLASH: case 0x2f: out[o++] = e; break;
      case 0x75: { // uXXXX, maybe a surrogate pair
        let cp = hex4(raw, i);
        if (cp < 0) return undefined;
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && raw[i] === BACKSLASH && raw[i + 1] === 0x75) {
          const lo = hex4(raw, i + 2);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          }
        }
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; // a lone surrogate, as JSON.parse then utf-8 gives
        o = utf8(out, o, cp);
        break;
      }
      default: return undefined;
    }
  }
  i++; // the closing quote
  let stream: 'stdout' | 'stderr';
  if (startsWith(raw, STDOUT, i)) stream = 'stdout';
  else if (startsWith(raw, STDERR, i)) stream = 'stderr';
  else return undefined;
  i += STDOUT.length;
  if (!startsWith(raw, TIME, i)) return undefined;
  i += TIME.length;
  const close = raw.indexOf(QUOTE, i);
  if (close < 0 || close !== n - 2 || raw[n - 1] !== 0x7d) return undefined;
  return { stream, end: o, time: raw.toString('latin1', i, close) };
}

/** Whether `b` holds `p` at `at`; byte by byte, a native call per record costing more than this. */
function startsWith(b: Buffer, p: Buffer, at: number): boolean {
  if (at + p.length > b.length) return false;
  for (let k = 0; k < p.length; k++) if (b[at + k] !== p[k]) return false;
  return true;
}

function hex4(b: Buffer, i: number): number {
  if (i + 4 > b.length) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = b[i + k]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

function utf8(out: Buffer, o: number, cp: number): number {
  if (cp < 0x80) {
    out[o++] = cp;
  } else if (cp < 0x800) {
    out[o++] = 0xc0 | (cp >> 6);
    out[o++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[o++] = 0xe0 | (cp >> 12);
    out[o++] = 0x80 | ((cp >> 6) & 0x3f);
    out[o++] = 0x80 | (cp & 0x3f);
  } else {
    out[o++] = 0xf0 | (cp >> 18);
    out[o++] = 0x80 | ((cp >> 12) & 0x3f);
    out[o++] = 0x80 | ((cp >> 6) & 0x3f);
    out[o++] = 0x80 | (cp & 0x3f);
  }
  return o;
}
