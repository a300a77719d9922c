import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LayerGzip } from './compress.js';

async function layerGzip(data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 64 * 1024) chunks.push(data.subarray(i, i + 64 * 1024));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), new LayerGzip(), new Writable({ write(c: Buffer, _e, cb) { out.push(c); cb(); } }));
  return Buffer.concat(out);
}

/** Text that deflates well, different on every line. */
const text = (mb: number) => Buffer.from(Array.from({ length: mb * 20_000 }, (_, i) => `line ${i} of a layer that compresses ${i % 97}\n`).join('').slice(0, mb << 20));

test('compressible data: one gzip member at the default level, as plain gzip compresses it', async () => {
  const data = text(4);
  const z = await layerGzip(data);
  assert.deepEqual(gunzipSync(z), data);
  const plain = gzipSync(data);
  assert.ok(Math.abs(z.length - plain.length) < plain.length * 0.01, `${z.length} vs ${plain.length}`);
  // One member: the gzip magic appears once, at the start.
  assert.equal(z.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 1), -1);
});

test('incompressible data is stored, and data that compresses again is deflated again', async () => {
  const data = Buffer.concat([text(2), randomBytes(12 << 20), text(6)]);
  const z = await layerGzip(data);
  assert.deepEqual(gunzipSync(z), data, 'the members read back as one stream');
  // The random part costs its size; the text after it is stored until the next probe (the
  // segment the change falls in and at most three more of 1 MiB), then deflated again.
  const textPart = gzipSync(text(2)).length + gzipSync(text(6)).length;
  assert.ok(z.length < (12 << 20) + textPart + (4 << 20), `${z.length} bytes`);
  assert.ok(z.length < (12 << 20) + text(6).length, `${z.length}: the text after the random part is deflated again`);
  assert.ok(z.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 1) > 0, 'more than one member');
});

test('empty input is an empty gzip stream', async () => {
  assert.deepEqual(gunzipSync(await layerGzip(Buffer.alloc(0))), Buffer.alloc(0));
});
