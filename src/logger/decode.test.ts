import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeRecord } from './decode.js';
import { encodeRecord } from './encode.js';

/** What JSON.parse makes of a record: the reference the fast decoder must agree with. */
function slow(raw: Buffer): { log: Buffer; stream: string; time: string } {
  const v = JSON.parse(raw.toString('utf8')) as { log: string; stream: string; time: string };
  return { log: Buffer.from(v.log, 'utf8'), stream: v.stream, time: v.time };
}

function fast(raw: Buffer) {
  const out = Buffer.alloc(raw.length + 16, 0xaa);
  const r = decodeRecord(raw, out, 16);
  return r && { log: out.subarray(16, r.end), stream: r.stream, time: r.time };
}

const line = (log: Buffer, stream = 'stdout', attrs?: string) =>
  encodeRecord(log, stream, 1_763_900_000_123_456_789n, attrs).subarray(0, -1);

test('records in the writer\'s layout decode as JSON.parse decodes them', () => {
  const cases = [
    'hello\n', 'no newline', 'quote " and backslash \\ and slash /\n', 'tab\tcr\rbell\u0007nul\u0000\n',
    '<html> & "entities"\n', 'é ü ß 中文 \n', 'emoji 😀🚀 end\n', 'separators \u2028 \u2029\n', '\u007f del\n',
  ];
  for (const text of cases) {
    for (const stream of ['stdout', 'stderr']) {
      const raw = line(Buffer.from(text, 'utf8'), stream);
      assert.deepEqual(fast(raw), slow(raw), JSON.stringify(text));
    }
  }
  // Invalid UTF-8 is written as \ufffd; both ways read it back the same.
  const bad = line(Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xc3, 0x0a]));
  assert.deepEqual(fast(bad), slow(bad));
});

test('random bytes through the writer and back: fast and JSON.parse agree (1,000 records)', () => {
  for (let n = 0; n < 1000; n++) {
    const raw = line(randomBytes(1 + (n % 300)), n % 2 ? 'stdout' : 'stderr');
    assert.deepEqual(fast(raw), slow(raw), raw.toString('hex'));
  }
});

test('escapes the writer does not use but JSON allows: \\b \\f \\/ and surrogate pairs', () => {
  const raw = Buffer.from('{"log":"a\\b\\f\\/\\ud83d\\ude00\\u00e9\\uD800x\\n","stream":"stdout","time":"2025-01-01T00:00:00Z"}');
  assert.deepEqual(fast(raw), slow(raw));
});

test('any other layout is left to JSON.parse', () => {
  assert.equal(fast(line(Buffer.from('x\n'), 'stdout', '{"a":"b"}')), undefined, 'attrs');
  assert.equal(fast(Buffer.from('{"stream":"stdout","log":"x","time":"2025-01-01T00:00:00Z"}')), undefined, 'key order');
  assert.equal(fast(Buffer.from('{"log":"x","stream":"stdin","time":"2025-01-01T00:00:00Z"}')), undefined, 'stream');
  assert.equal(fast(Buffer.from('{"log":"x\\q","stream":"stdout","time":"2025-01-01T00:00:00Z"}')), undefined, 'bad escape');
  assert.equal(fast(Buffer.from('{"log":"x\\u12","stream":"stdout","time":"2025-01-01T00:00:00Z"}')), undefined, 'short \\u');
  const whole = line(Buffer.from('truncated\n'));
  for (const cut of [5, 10, whole.length - 20, whole.length - 1]) assert.equal(fast(whole.subarray(0, cut)), undefined, `cut at ${cut}`);
  assert.equal(fast(Buffer.from('{"log":"x","stream":"stdout","time":"2025-01-01T00:00:00Z"} ')), undefined, 'trailing byte');
});
