import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter, SystemError } from '../lib/errors.js';
import { STDERR, STDIN, STDOUT, SYSTEMERR, StdDemux, StdWriter, demux, frame } from './stdcopy.js';

/** mulberry32: a tiny seeded PRNG so random chunking is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Sink extends Writable {
  chunks: Buffer[] = [];
  constructor(opts: { highWaterMark?: number; slow?: boolean } = {}) {
    super({ highWaterMark: opts.highWaterMark ?? 16384 });
    this.slow = opts.slow ?? false;
  }
  slow: boolean;
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    if (this.slow) setImmediate(done);
    else done();
  }
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Cuts `buf` into pieces of random sizes between 1 and `max` bytes. */
function chop(buf: Buffer, rand: () => number, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

test('frame writes the 8-byte header then the payload', () => {
  const f = frame(STDERR, 'hi');
  assert.deepEqual([...f], [2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
});

test('StdWriter frames each chunk and drops empty chunks', async () => {
  const w = new StdWriter(STDOUT);
  const sink = new Sink();
  await pipeline(Readable.from([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')]), w, sink);
  assert.deepEqual(sink.data, Buffer.concat([frame(STDOUT, 'ab'), frame(STDOUT, 'c')]));
});

test('round trip with random chunking keeps each stream intact and in order', async () => {
  const rand = prng(42);
  const frames: Buffer[] = [];
  const wantOut: Buffer[] = [];
  const wantErr: Buffer[] = [];
  for (let i = 0; i < 500; i++) {
    const size = Math.floor(rand() * 300);
    const payload = Buffer.alloc(size, i % 256);
    const type = rand() < 0.5 ? STDOUT : rand() < 0.5 ? STDERR : STDIN;
    frames.push(frame(type, payload));
    (type === STDERR ? wantErr : wantOut).push(payload);
  }
  const pieces = chop(Buffer.concat(frames), rand, 37);
  const out = new Sink();
  const err = new Sink();
  await demux(Readable.from(pieces), out, err);
  assert.deepEqual(out.data, Buffer.concat(wantOut));
  assert.deepEqual(err.data, Buffer.concat(wantErr));
  assert.equal(out.writableEnded, false, 'destinations stay open');
});

test('a header split byte by byte is reassembled', async () => {
  const bytes = Buffer.concat([frame(STDOUT, 'hello'), frame(STDERR, 'oops')]);
  const out = new Sink();
  const err = new Sink();
  await demux(Readable.from([...bytes].map((b) => Buffer.from([b]))), out, err);
  assert.equal(out.data.toString(), 'hello');
  assert.equal(err.data.toString(), 'oops');
});

test('a zero-length frame is skipped', async () => {
  const bytes = Buffer.concat([frame(STDOUT, ''), frame(STDOUT, 'x'), frame(STDERR, '')]);
  const out = new Sink();
  const err = new Sink();
  await demux(Readable.from([bytes]), out, err);
  assert.equal(out.data.toString(), 'x');
  assert.equal(err.chunks.length, 0);
});

test('a 1 MiB payload arrives whole, streamed in pieces', async () => {
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const out = new Sink();
  const err = new Sink();
  await demux(Readable.from(chop(frame(STDOUT, payload), prng(7), 65536)), out, err);
  assert.deepEqual(out.data, payload);
  assert.ok(out.chunks.length > 1, 'payload pieces are forwarded as they arrive');
});

test('systemerr fails the stream with its text', async () => {
  const bytes = Buffer.concat([frame(STDOUT, 'before'), frame(SYSTEMERR, 'container died'), frame(STDOUT, 'after')]);
  const out = new Sink();
  await assert.rejects(demux(Readable.from(chop(bytes, prng(3), 5)), out, new Sink()), (e: unknown) => {
    assert.ok(e instanceof SystemError);
    assert.equal(e.message, 'container died');
    return true;
  });
  assert.equal(out.data.toString(), 'before');
});

test('an unknown stream type is an error', async () => {
  const bad = Buffer.from([7, 0, 0, 0, 0, 0, 0, 1, 0x41]);
  await assert.rejects(demux(Readable.from([bad]), new Sink(), new Sink()), (e: unknown) => {
    assert.ok(e instanceof InvalidParameter);
    assert.equal(e.message, 'Unrecognized input header: 7');
    return true;
  });
});

test('a truncated last frame ends quietly after its bytes so far', async () => {
  const bytes = frame(STDOUT, 'abcdef').subarray(0, 11);
  const out = new Sink();
  await demux(Readable.from([bytes]), out, new Sink());
  assert.equal(out.data.toString(), 'abc');
});

test('a slow destination holds the reader back instead of buffering', async () => {
  const total = 8 * 1024 * 1024;
  const framed = frame(STDOUT, Buffer.alloc(1000, 1));
  let produced = 0;
  let worstLead = 0;
  const out = new Sink({ highWaterMark: 1024, slow: true });
  const source = new Readable({
    read() {
      if (produced >= total) return this.push(null);
      const chunk = Buffer.concat(Array.from({ length: 16 }, () => framed));
      produced += chunk.length;
      const received = out.chunks.reduce((n, c) => n + c.length, 0);
      // Framing overhead is under 1%, so compare payload bytes to payload bytes.
      worstLead = Math.max(worstLead, (produced * 1000) / 1008 - received);
      this.push(chunk);
    },
  });
  await pipeline(source, new StdDemux(out, new Sink()));
  assert.equal(out.data.length, (Math.ceil(total / (16 * 1008)) * 16 * 1000));
  assert.ok(worstLead < 256 * 1024, `reader ran ${worstLead} bytes ahead of the destination`);
});
