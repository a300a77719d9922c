import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { InvalidParameter, NotImplemented } from '../lib/errors.js';
import { JsonFileLogger, LineSplitter, MAX_LINE, NoneLogger, assertReadable, copyStream, validateLogOpts } from './index.js';
import { jsonString } from './encode.js';
import { formatTime, parseTime, NanoClock } from './time.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-logger-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const records = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { log: string; stream: string; time: string; attrs?: Record<string, string> });

describe('time', () => {
  it('formats RFC3339 with nine fraction digits, trailing zeros kept', () => {
    assert.equal(formatTime(1_795_406_215_123_456_789n), '2026-11-23T03:56:55.123456789Z');
    assert.equal(formatTime(1_795_406_215_100_000_000n), '2026-11-23T03:56:55.100000000Z');
    assert.equal(formatTime(0n), '1970-01-01T00:00:00.000000000Z');
  });
  it('parses what it formats, and other zones', () => {
    assert.equal(parseTime('2026-11-23T03:56:55.123456789Z'), 1_795_406_215_123_456_789n);
    assert.equal(parseTime('2026-11-23T03:56:55.1Z'), 1_795_406_215_100_000_000n);
    assert.equal(parseTime('2026-11-23T04:56:55+01:00'), 1_795_406_215_000_000_000n);
    assert.equal(parseTime('yesterday'), undefined);
  });
  it('the clock increases strictly and is near the wall clock', () => {
    const c = new NanoClock();
    let last = 0n;
    for (let i = 0; i < 1000; i++) { const t = c.now(); assert.ok(t > last); last = t; }
    const diffMs = Number(last / 1_000_000n) - Date.now();
    assert.ok(Math.abs(diffMs) < 1000, `clock off by ${diffMs}ms`);
  });
});

describe('encoding', () => {
  it('escapes as dockerd does', () => {
    assert.equal(jsonString(Buffer.from('a"b\\c\n\r\t<>&')), '"a\\"b\\\\c\\n\\r\\u0009\\u003c\\u003e\\u0026"');
    assert.equal(jsonString(Buffer.from([0x61, 0xff, 0x62])), '"a\\ufffdb"');
    assert.equal(jsonString(Buffer.from([0xe2, 0x82, 0x41])), '"\\ufffd\\ufffdA"');
    assert.equal(jsonString(Buffer.from('é€😀\u2028')), '"é€😀\\u2028"');
  });
});

describe('LineSplitter', () => {
  const clock = () => { let t = 0n; return () => ++t; };
  it('splits lines across chunk boundaries', () => {
    const s = new LineSplitter('stdout', clock());
    const out = [...s.push(Buffer.from('hel')), ...s.push(Buffer.from('lo\nwor')), ...s.push(Buffer.from('ld\n\nx')), ...s.end()];
    assert.deepEqual(out.map((m) => [m.line.toString(), m.partial]), [['hello', false], ['world', false], ['', false], ['x', true]]);
    assert.ok(out.every((m) => m.stream === 'stdout'));
  });
  it('flushes 16 KiB without a newline as a partial; the pieces share a time', () => {
    const s = new LineSplitter('stderr', clock());
    const long = Buffer.alloc(MAX_LINE * 2 + 10, 'a');
    const out = [...s.push(long.subarray(0, 5000)), ...s.push(Buffer.concat([long.subarray(5000), Buffer.from('\nnext\n')]))];
    assert.deepEqual(out.map((m) => [m.line.length, m.partial]), [[MAX_LINE, true], [MAX_LINE, true], [10, false], [4, false]]);
    assert.equal(out[0]!.time, out[1]!.time);
    assert.equal(out[0]!.time, out[2]!.time);
    assert.notEqual(out[3]!.time, out[0]!.time);
    assert.deepEqual(s.end(), []);
  });
  it('a line of 16 KiB - 1 bytes is whole; 16 KiB is a partial and an empty end', () => {
    const s = new LineSplitter('stdout', clock());
    const a = s.push(Buffer.concat([Buffer.alloc(MAX_LINE - 1, 'b'), Buffer.from('\n')]));
    assert.deepEqual(a.map((m) => [m.line.length, m.partial]), [[MAX_LINE - 1, false]]);
    const b = s.push(Buffer.concat([Buffer.alloc(MAX_LINE, 'c'), Buffer.from('\n')]));
    assert.deepEqual(b.map((m) => [m.line.length, m.partial]), [[MAX_LINE, true], [0, false]]);
  });
});

describe('JsonFileLogger', () => {
  it('writes dockerd records, one a line', async () => {
    const path = join(dir, 'fmt-json.log');
    const l = await JsonFileLogger.open(path, {});
    await l.log({ stream: 'stdout', line: Buffer.from('hello'), time: 1_795_406_215_123_456_789n });
    await l.log({ stream: 'stderr', line: Buffer.from('part'), time: 1_795_406_215_100_000_000n, partial: true });
    await l.close();
    assert.equal(await readFile(path, 'utf8'),
      '{"log":"hello\\n","stream":"stdout","time":"2026-11-23T03:56:55.123456789Z"}\n' +
      '{"log":"part","stream":"stderr","time":"2026-11-23T03:56:55.100000000Z"}\n');
  });

  it('settled() resolves once the chunks handed over so far are in the file', async () => {
    const path = join(dir, 'settled-json.log');
    const l = await JsonFileLogger.open(path, {});
    for (let i = 0; i < 50; i++) void l.logChunk('stdout', Buffer.from(`line ${i}\n`));
    await l.settled();
    const got = await records(path);
    assert.equal(got.length, 50);
    assert.equal(got[49]!.log, 'line 49\n');
    await l.close();
  });

  it('splits chunks per stream, stamps increasing times, flushes the rest on close', async () => {
    const path = join(dir, 'chunks-json.log');
    const l = await JsonFileLogger.open(path, {});
    await l.logChunk('stdout', Buffer.from('one\ntw'));
    await l.logChunk('stderr', Buffer.from('err'));
    await l.logChunk('stdout', Buffer.from('o\n'));
    await l.logChunk('stderr', Buffer.from('or\n'));
    await l.logChunk('stdout', Buffer.from('tail'));
    await l.close();
    const recs = await records(path);
    assert.deepEqual(recs.map((r) => [r.stream, r.log]), [['stdout', 'one\n'], ['stdout', 'two\n'], ['stderr', 'error\n'], ['stdout', 'tail']]);
    for (const r of recs) assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const times = recs.map((r) => parseTime(r.time)!);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!);
  });

  it('appends to an existing file', async () => {
    const path = join(dir, 'append-json.log');
    await writeFile(path, '{"log":"old\\n","stream":"stdout","time":"2020-01-01T00:00:00.000000000Z"}\n');
    const l = await JsonFileLogger.open(path, {});
    await l.logChunk('stdout', Buffer.from('new\n'));
    await l.close();
    assert.deepEqual((await records(path)).map((r) => r.log), ['old\n', 'new\n']);
  });

  it('copyStream copies a readable and its unterminated end', async () => {
    const path = join(dir, 'copy-json.log');
    const l = await JsonFileLogger.open(path, {});
    const src = new PassThrough();
    const copying = copyStream(src, 'stderr', l);
    src.write('a\nb');
    src.end('c');
    await copying;
    await l.close();
    assert.deepEqual((await records(path)).map((r) => [r.stream, r.log]), [['stderr', 'a\n'], ['stderr', 'bc']]);
  });

  it('adds attrs for labels, env and tag', async () => {
    const path = join(dir, 'attrs-json.log');
    const l = await JsonFileLogger.open(path, { labels: 'b,a,missing', env: 'FOO', tag: '{{.Name}}/{{.ID}}' }, {
      id: '0123456789abcdef0123', name: '/web', labels: { a: '1', b: '<2>', c: '3' }, env: ['FOO=bar', 'X=y'],
    });
    await l.log({ stream: 'stdout', line: Buffer.from('x'), time: 0n });
    await l.close();
    assert.equal(await readFile(path, 'utf8'),
      '{"log":"x\\n","stream":"stdout","attrs":{"FOO":"bar","a":"1","b":"\\u003c2\\u003e","tag":"web/0123456789ab"},"time":"1970-01-01T00:00:00.000000000Z"}\n');
  });

  it('rotates at max-size keeping max-file files, oldest dropped', async () => {
    const d = await mkdtemp(join(dir, 'rot-'));
    const path = join(d, 'c-json.log');
    const l = await JsonFileLogger.open(path, { 'max-size': '200', 'max-file': '3' });
    for (let i = 0; i < 20; i++) await l.log({ stream: 'stdout', line: Buffer.from(`line ${String(i).padStart(2, '0')}`), time: BigInt(i) });
    await l.close();
    assert.deepEqual((await readdir(d)).sort(), ['c-json.log', 'c-json.log.1', 'c-json.log.2']);
    // Each record is 78 bytes: a file takes records until it holds 200 bytes or more, i.e. 3.
    const logs = [];
    for (const f of ['c-json.log.2', 'c-json.log.1', 'c-json.log']) logs.push((await records(join(d, f))).map((r) => r.log));
    assert.deepEqual(logs, [['line 12\n', 'line 13\n', 'line 14\n'], ['line 15\n', 'line 16\n', 'line 17\n'], ['line 18\n', 'line 19\n']]);
  });

  it('with max-file 1, max-size truncates the one file', async () => {
    const d = await mkdtemp(join(dir, 'trunc-'));
    const path = join(d, 'c-json.log');
    const l = await JsonFileLogger.open(path, { 'max-size': '100' });
    for (let i = 0; i < 5; i++) await l.log({ stream: 'stdout', line: Buffer.from(`line ${i}`), time: BigInt(i) });
    await l.close();
    assert.deepEqual(await readdir(d), ['c-json.log']);
    assert.deepEqual((await records(path)).map((r) => r.log), ['line 4\n']);
  });

  it('max-file without max-size never rotates (no error, as dockerd)', async () => {
    const d = await mkdtemp(join(dir, 'nomax-'));
    const path = join(d, 'c-json.log');
    const l = await JsonFileLogger.open(path, { 'max-file': '3' });
    for (let i = 0; i < 50; i++) await l.log({ stream: 'stdout', line: Buffer.alloc(100, 'x') });
    await l.close();
    assert.deepEqual(await readdir(d), ['c-json.log']);
    assert.equal((await records(path)).length, 50);
  });

  it('compresses rotated files as .N.gz', async () => {
    const d = await mkdtemp(join(dir, 'gz-'));
    const path = join(d, 'c-json.log');
    const l = await JsonFileLogger.open(path, { 'max-size': '1k', 'max-file': '3', compress: 'true' });
    for (let i = 0; i < 60; i++) await l.log({ stream: 'stdout', line: Buffer.from(`line ${String(i).padStart(2, '0')}`), time: BigInt(i) });
    await l.close();
    assert.deepEqual((await readdir(d)).sort(), ['c-json.log', 'c-json.log.1.gz', 'c-json.log.2.gz']);
    const all = [
      ...gunzipSync(await readFile(join(d, 'c-json.log.2.gz'))).toString().split('\n'),
      ...gunzipSync(await readFile(join(d, 'c-json.log.1.gz'))).toString().split('\n'),
      ...(await readFile(path, 'utf8')).split('\n'),
    ].filter(Boolean).map((s) => (JSON.parse(s) as { log: string }).log);
    // 1k is 1000 bytes: 13 records of 78 bytes to a file; continuous up to the last line.
    assert.equal(all.length, 13 + 13 + 8);
    assert.deepEqual(all, Array.from({ length: 34 }, (_, i) => `line ${String(26 + i).padStart(2, '0')}\n`));
  });

  it('fails to open with dockerd messages for bad values', async () => {
    const path = join(dir, 'bad-json.log');
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'max-size': 'abc' }, "failed to initialize logging driver: invalid size: 'abc'"],
      [{ 'max-size': '-1' }, "failed to initialize logging driver: invalid size: '-1'"],
      [{ 'max-size': '0' }, 'failed to initialize logging driver: max-size must be a positive number'],
      [{ 'max-file': '0' }, 'failed to initialize logging driver: max-file cannot be less than 1'],
      [{ 'max-file': 'x' }, 'failed to initialize logging driver: strconv.Atoi: parsing "x": invalid syntax'],
      [{ compress: 'yes' }, 'failed to initialize logging driver: strconv.ParseBool: parsing "yes": invalid syntax'],
      [{ compress: 'true', 'max-size': '1m' }, 'failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set'],
      [{ compress: 'true', 'max-file': '3' }, 'failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set'],
    ];
    for (const [opts, message] of cases) {
      await assert.rejects(JsonFileLogger.open(path, opts), (err: Error) => err instanceof InvalidParameter && err.message === message);
    }
  });
});

describe('validateLogOpts', () => {
  it('accepts the json-file options and the built-in ones', () => {
    validateLogOpts('json-file', { 'max-size': '10m', 'max-file': '3', compress: 'true', labels: 'a', 'labels-regex': 'x', env: 'A', 'env-regex': 'B', tag: 't', mode: 'non-blocking', 'max-buffer-size': '4m' });
    validateLogOpts('local', { 'max-size': '10m', 'max-file': '3', compress: 'false' });
    validateLogOpts('none', { anything: 'goes' });
  });
  it('rejects unknown options and drivers with dockerd messages', () => {
    const bad = (driver: string, opts: Record<string, string>, message: string) =>
      assert.throws(() => validateLogOpts(driver, opts), (err: Error) => err instanceof InvalidParameter && err.message === message);
    bad('json-file', { foo: 'bar' }, "unknown log opt 'foo' for json-file log driver");
    bad('local', { tag: 'x' }, "unknown log opt 'tag' for log driver local");
    bad('syslog', {}, "logger: no log driver named 'syslog' is registered");
    bad('json-file', { mode: 'fast' }, 'logger: logging mode not supported: fast');
    bad('json-file', { 'max-buffer-size': '4m' }, "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  });
});

describe('none driver', () => {
  it('discards, and reading is not supported', async () => {
    const n = new NoneLogger();
    await n.logChunk('stdout', Buffer.from('x\n'));
    await n.close();
    assert.throws(() => assertReadable('none'), (err: Error) => err instanceof NotImplemented && err.message === 'configured logging driver does not support reading');
    assertReadable('json-file');
  });
});
