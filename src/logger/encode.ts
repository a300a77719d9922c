import { formatTime } from './time.js';

/**
 * One json-file record, byte for byte as dockerd's jsonlog.JSONLogs.MarshalJSONBuf writes it:
 * `{"log":"...","stream":"stdout","attrs":{...},"time":"..."}` and a newline. The log text is
 * escaped as dockerd does it (HTML-safe, control bytes as \u00XX, invalid UTF-8 as \ufffd).
 */
export function encodeRecord(log: Buffer, stream: string, time: bigint, attrs?: string): Buffer {
  let out = '{';
  if (log.length > 0) out += `"log":${jsonString(log)},`;
  if (stream.length > 0) out += `"stream":${jsonString(Buffer.from(stream))},`;
  if (attrs) out += `"attrs":${attrs},`;
  out += `"time":"${formatTime(time)}"}\n`;
  return Buffer.from(out, 'utf8');
}

/** Go's json.Marshal of a map[string]string: keys sorted, strings escaped as above. */
export function encodeAttrs(attrs: Record<string, string>): string {
  const keys = Object.keys(attrs).sort();
  return `{${keys.map((k) => `${jsonString(Buffer.from(k))}:${jsonString(Buffer.from(attrs[k]!))}`).join(',')}}`;
}

const HEX = '0123456789abcdef';

/** dockerd's ffjsonWriteJSONBytesAsString, over bytes as Go walks them. */
export function jsonString(bytes: Buffer): string {
  const parts: string[] = ['"'];
  let start = 0;
  let i = 0;
  const keep = (end: number) => { if (end > start) parts.push(bytes.toString('utf8', start, end)); };
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b >= 0x20 && b !== 0x5c && b !== 0x22 && b !== 0x3c && b !== 0x3e && b !== 0x26) { i++; continue; }
      keep(i);
      if (b === 0x5c || b === 0x22) parts.push(`\\${String.fromCharCode(b)}`);
      else if (b === 0x0a) parts.push('\\n');
      else if (b === 0x0d) parts.push('\\r');
      else parts.push(`\\u00${HEX[b >> 4]}${HEX[b & 0xf]}`);
      start = ++i;
      continue;
    }
    const size = runeSize(bytes, i);
    if (size === 0) {
      keep(i);
      parts.push('\\ufffd');
      start = ++i;
      continue;
    }
    // U+2028 and U+2029 (E2 80 A8/A9) break JavaScript parsers; Go escapes them.
    if (b === 0xe2 && bytes[i + 1] === 0x80 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9)) {
      keep(i);
      parts.push(`\\u202${bytes[i + 2] === 0xa8 ? '8' : '9'}`);
      start = i + 3;
    }
    i += size;
  }
  keep(bytes.length);
  parts.push('"');
  return parts.join('');
}

/** The length of the valid UTF-8 sequence at `i` (lead byte >= 0x80), or 0 if invalid, as Go's DecodeRune. */
function runeSize(s: Buffer, i: number): number {
  const b = s[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => { const c = s[i + k]; return c !== undefined && c >= lo && c <= hi; };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
