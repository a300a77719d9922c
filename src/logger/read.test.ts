import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { JsonFileLogger, formatForClient, readLogs, type LogLine, type ReadOptions } from './index.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-logread-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const T0 = 1_700_000_000_000_000_000n;
const SEC = 1_000_000_000n;

function options(o: Partial<ReadOptions> = {}): ReadOptions {
  return { follow: false, tail: 'all', stdout: true, stderr: true, timestamps: false, signal: new AbortController().signal, ...o };
}

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(`${x.stream}:${x.line.toString()}`);
  return out;
}

/** A log of `n` stdout lines "l<i>" at T0 + i seconds, with stderr on every third, rotated as given. */
async function writeLog(name: string, n: number, opts: Record<string, string> = {}): Promise<string> {
  const d = await mkdtemp(join(dir, `${name}-`));
  const path = join(d, 'c-json.log');
  const l = await JsonFileLogger.open(path, opts);
  for (let i = 0; i < n; i++) {
    await l.log({ stream: i % 3 === 2 ? 'stderr' : 'stdout', line: Buffer.from(`l${i}`), time: T0 + BigInt(i) * SEC });
  }
  await l.close();
  return path;
}

const expected = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => from + k).map((i) => `${i % 3 === 2 ? 'stderr' : 'stdout'}:l${i}\n`);

describe('readLogs', () => {
  it('reads a plain log, with and without timestamps', async () => {
    const path = await writeLog('plain', 3);
    assert.deepEqual(await collect(readLogs(path, options(), () => false)), expected(0, 3));
    const ts = await collect(readLogs(path, options({ timestamps: true }), () => false));
    assert.deepEqual(ts, ['stdout:2023-11-14T22:13:20.000000000Z l0\n', 'stdout:2023-11-14T22:13:21.000000000Z l1\n', 'stderr:2023-11-14T22:13:22.000000000Z l2\n']);
  });

  it('yields nothing for a missing log', async () => {
    assert.deepEqual(await collect(readLogs(join(dir, 'nope-json.log'), options(), () => false)), []);
  });

  it('reads across rotated files, oldest first, plain and gzipped', async () => {
    const plain = await writeLog('rot', 20, { 'max-size': '200', 'max-file': '4' });
    assert.deepEqual(await collect(readLogs(plain, options(), () => false)), expected(9, 20));
    const gz = await writeLog('rotgz', 20, { 'max-size': '200', 'max-file': '4', compress: 'true' });
    assert.deepEqual(await collect(readLogs(gz, options(), () => false)), expected(9, 20));
  });

  it('tails across files', async () => {
    for (const compress of ['false', 'true']) {
      const path = await writeLog(`tail-${compress}`, 20, { 'max-size': '200', 'max-file': '4', compress });
      // Files hold 3, 3, 3 and (current) 2 records.
      assert.deepEqual(await collect(readLogs(path, options({ tail: 1 }), () => false)), expected(19, 20));
      assert.deepEqual(await collect(readLogs(path, options({ tail: 2 }), () => false)), expected(18, 20));
      assert.deepEqual(await collect(readLogs(path, options({ tail: 4 }), () => false)), expected(16, 20));
      assert.deepEqual(await collect(readLogs(path, options({ tail: 9 }), () => false)), expected(11, 20));
      assert.deepEqual(await collect(readLogs(path, options({ tail: 100 }), () => false)), expected(9, 20));
      assert.deepEqual(await collect(readLogs(path, options({ tail: 0 }), () => false)), []);
      assert.deepEqual(await collect(readLogs(path, options({ tail: -1 }), () => false)), expected(9, 20));
    }
  });

  it('tail counts records of both streams, before stream selection', async () => {
    const path = await writeLog('tailsel', 6);
    assert.deepEqual(await collect(readLogs(path, options({ tail: 3, stderr: false }), () => false)), ['stdout:l3\n', 'stdout:l4\n']);
  });

  it('selects stdout or stderr', async () => {
    const path = await writeLog('sel', 6);
    assert.deepEqual(await collect(readLogs(path, options({ stderr: false }), () => false)), ['stdout:l0\n', 'stdout:l1\n', 'stdout:l3\n', 'stdout:l4\n']);
    assert.deepEqual(await collect(readLogs(path, options({ stdout: false }), () => false)), ['stderr:l2\n', 'stderr:l5\n']);
  });

  it('filters by since (inclusive) and until (inclusive), across files', async () => {
    const path = await writeLog('since', 20, { 'max-size': '200', 'max-file': '4' });
    assert.deepEqual(await collect(readLogs(path, options({ since: T0 + 12n * SEC }), () => false)), expected(12, 20));
    assert.deepEqual(await collect(readLogs(path, options({ until: T0 + 12n * SEC }), () => false)), expected(9, 13));
    assert.deepEqual(await collect(readLogs(path, options({ since: T0 + 10n * SEC + 1n, until: T0 + 14n * SEC - 1n }), () => false)), expected(11, 14));
    assert.deepEqual(await collect(readLogs(path, options({ since: T0 + 15n * SEC, tail: 3 }), () => false)), expected(17, 20));
  });

  it('skips malformed records and keeps partial ones without a newline', async () => {
    const d = await mkdtemp(join(dir, 'bad-'));
    const path = join(d, 'c-json.log');
    await writeFile(path, [
      '{"log":"a\\n","stream":"stdout","time":"2023-11-14T22:13:20.000000000Z"}',
      'not json',
      '{"log":"b\\n","stream":"nowhere","time":"2023-11-14T22:13:20.000000000Z"}',
      '{"log":"c\\n","stream":"stdout","time":"yesterday"}',
      '{"log":"part","stream":"stderr","time":"2023-11-14T22:13:21.5Z"}',
      '{"log":"ial\\n","stream":"stderr","time":"2023-11-14T22:13:21.5Z"}',
      '{"log":"unfinished',
    ].join('\n'));
    assert.deepEqual(await collect(readLogs(path, options({ timestamps: true }), () => false)),
      ['stdout:2023-11-14T22:13:20.000000000Z a\n', 'stderr:2023-11-14T22:13:21.500000000Z part', 'stderr:2023-11-14T22:13:21.500000000Z ial\n']);
  });

  it('follows lines appended after it started, ending when the container stops', async () => {
    const path = await writeLog('follow', 2);
    const l = await JsonFileLogger.open(path, {});
    let running = true;
    const got: string[] = [];
    const reading = (async () => {
      for await (const x of readLogs(path, options({ follow: true }), () => running)) got.push(x.line.toString());
    })();
    await waitFor(() => got.length === 2);
    await l.logChunk('stdout', Buffer.from('later 1\nlater'));
    await waitFor(() => got.length === 3);
    await l.logChunk('stdout', Buffer.from(' 2\n'));
    await l.close();
    running = false;
    await reading;
    assert.deepEqual(got, ['l0\n', 'l1\n', 'later 1\n', 'later 2\n']);
  });

  it('follows across rotations', async () => {
    const d = await mkdtemp(join(dir, 'followrot-'));
    const path = join(d, 'c-json.log');
    for (const compress of ['false', 'true']) {
      await rm(d, { recursive: true, force: true });
      await mkdtempAt(d);
      const l = await JsonFileLogger.open(path, { 'max-size': '300', 'max-file': '3', compress });
      let running = true;
      const got: string[] = [];
      const reading = (async () => {
        for await (const x of readLogs(path, options({ follow: true }), () => running)) got.push(x.line.toString());
      })();
      const want: string[] = [];
      // Slow enough that the poll sees each file; each file holds 4 records of ~78 bytes.
      for (let i = 0; i < 12; i++) {
        await l.logChunk('stdout', Buffer.from(`r${i}\n`));
        want.push(`r${i}\n`);
        await waitFor(() => got.length === want.length);
      }
      await l.close();
      running = false;
      await reading;
      assert.deepEqual(got, want, `compress=${compress}`);
    }
  });

  it('follows a rotation that happens between two polls, tail 0 skipping what was there', async () => {
    const path = await writeLog('burst', 2, { 'max-size': '300', 'max-file': '3' });
    const l = await JsonFileLogger.open(path, { 'max-size': '300', 'max-file': '3' });
    let running = true;
    const got: string[] = [];
    const reading = (async () => {
      for await (const x of readLogs(path, options({ follow: true, tail: 0 }), () => running)) got.push(x.line.toString());
    })();
    try {
      await sleep(150);
      // Two records are there already: the file rotates after the second of these.
      for (let i = 0; i < 6; i++) await l.logChunk('stdout', Buffer.from(`b${i}\n`));
      await waitFor(() => got.length === 6);
    } finally {
      await l.close();
      running = false;
      await reading;
    }
    assert.deepEqual(got, ['b0\n', 'b1\n', 'b2\n', 'b3\n', 'b4\n', 'b5\n']);
  });

  it('a follower started before the file exists picks it up', async () => {
    const d = await mkdtemp(join(dir, 'late-'));
    const path = join(d, 'c-json.log');
    let running = true;
    const got: string[] = [];
    const reading = (async () => {
      for await (const x of readLogs(path, options({ follow: true }), () => running)) got.push(x.line.toString());
    })();
    await sleep(150);
    const l = await JsonFileLogger.open(path, {});
    await l.logChunk('stderr', Buffer.from('hi\n'));
    await waitFor(() => got.length === 1);
    await l.close();
    running = false;
    await reading;
    assert.deepEqual(got, ['hi\n']);
  });

  it('a follow of a stopped container reads what is there and ends', async () => {
    const path = await writeLog('stopped', 3);
    assert.deepEqual(await collect(readLogs(path, options({ follow: true }), () => false)), expected(0, 3));
  });

  it('a follow with until in the past does not wait; with until ahead it stops past it', async () => {
    const path = await writeLog('until', 3);
    assert.deepEqual(await collect(readLogs(path, options({ follow: true, until: T0 + SEC }), () => true)), expected(0, 2));
    const l = await JsonFileLogger.open(path, {});
    const untilNs = BigInt(Date.now()) * 1_000_000n + 60n * SEC;
    const reading = collect(readLogs(path, options({ follow: true, until: untilNs }), () => true));
    await l.log({ stream: 'stdout', line: Buffer.from('in'), time: untilNs - 1n });
    await l.log({ stream: 'stdout', line: Buffer.from('out'), time: untilNs + 1n });
    await l.close();
    assert.deepEqual(await reading, [...expected(0, 3), 'stdout:in\n']);
  });

  it('a follow ends on abort', async () => {
    const path = await writeLog('abort', 1);
    const ac = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const x of readLogs(path, options({ follow: true, signal: ac.signal }), () => true)) got.push(x.line.toString());
    })();
    await waitFor(() => got.length === 1);
    ac.abort();
    await reading;
    assert.deepEqual(got, ['l0\n']);
  });

  it('follows a file truncated by max-file 1', async () => {
    const d = await mkdtemp(join(dir, 'trunc-'));
    const path = join(d, 'c-json.log');
    const l = await JsonFileLogger.open(path, { 'max-size': '100' });
    let running = true;
    const got: string[] = [];
    const reading = (async () => {
      for await (const x of readLogs(path, options({ follow: true }), () => running)) got.push(x.line.toString());
    })();
    for (let i = 0; i < 3; i++) {
      await l.logChunk('stdout', Buffer.from(`t${i}\n`));
      await waitFor(() => got.length === i + 1);
    }
    await l.close();
    running = false;
    await reading;
    assert.deepEqual(got, ['t0\n', 't1\n', 't2\n']);
  });

  it('reads a record being written only once it is whole', async () => {
    const d = await mkdtemp(join(dir, 'torn-'));
    const path = join(d, 'c-json.log');
    await writeFile(path, '{"log":"x\\n","stream":"stdout",');
    let running = true;
    const got: string[] = [];
    const reading = (async () => {
      for await (const x of readLogs(path, options({ follow: true }), () => running)) got.push(x.line.toString());
    })();
    await sleep(150);
    assert.deepEqual(got, []);
    await appendFile(path, '"time":"2023-11-14T22:13:20Z"}\n');
    await waitFor(() => got.length === 1);
    running = false;
    await reading;
    assert.deepEqual(got, ['x\n']);
  });
});

describe('formatForClient', () => {
  it('frames with stdcopy without a TTY, raw with one', () => {
    const item: LogLine = { stream: 'stderr', line: Buffer.from('hi\n') };
    assert.deepEqual(formatForClient(item, false), Buffer.from([2, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a]));
    assert.deepEqual(formatForClient({ ...item, stream: 'stdout' }, false).subarray(0, 8), Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]));
    assert.deepEqual(formatForClient(item, true), Buffer.from('hi\n'));
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

async function mkdtempAt(path: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path, { recursive: true });
}
