import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InvalidParameter } from '../lib/errors.js';
import { decompress, decompressStream, detectCompression } from './compression.js';
import { chunked, collect, have, readAll } from './testing.js';
import { tarStream } from './writer.js';

function compressWith(tool: string, data: Buffer): Buffer {
  return execFileSync(tool, ['-c'], { input: data, maxBuffer: 1 << 28 });
}

describe('detectCompression', () => {
  it('knows the magic numbers', () => {
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
    assert.equal(detectCompression(Buffer.from('BZh91AY')), 'bzip2');
    assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04])), 'zstd');
    assert.equal(detectCompression(Buffer.from('ustar')), 'none');
    assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a])), 'none');
    assert.equal(detectCompression(Buffer.alloc(0)), 'none');
  });
});

describe('decompressStream', () => {
  const data = Buffer.concat([randomBytes(200_000), Buffer.alloc(300_000, 'z')]);

  it('passes an uncompressed stream through unchanged, however short', async () => {
    for (const input of [data, Buffer.from('ab'), Buffer.alloc(0)]) {
      const { compression, stream } = await decompress(chunked(input, input.length > 100 ? 4096 : 1));
      assert.equal(compression, 'none');
      assert.deepEqual(await collect(stream), input);
    }
  });

  it('gunzips, with the magic split across chunks', async () => {
    const gz = gzipSync(data);
    const parts = [gz.subarray(0, 1), gz.subarray(1, 3), gz.subarray(3, 5), gz.subarray(5)];
    const { compression, stream } = await decompress(Readable.from(parts, { objectMode: false }));
    assert.equal(compression, 'gzip');
    assert.deepEqual(await collect(stream), data);
  });

  for (const tool of ['bzip2', 'xz', 'zstd']) {
    it(`decompresses ${tool} through the system tool`, { skip: !have(tool) && `${tool} is not installed` }, async () => {
      const { compression, stream } = await decompress(chunked(compressWith(tool, data), 10_000));
      assert.equal(compression, tool);
      assert.deepEqual(await collect(stream), data);
    });

    it(`fails a corrupt ${tool} stream with InvalidParameter`, { skip: !have(tool) && `${tool} is not installed` }, async () => {
      const bad = compressWith(tool, data);
      bad.fill(0x41, 40, bad.length - 40);
      const out = await decompressStream(chunked(bad, 10_000));
      await assert.rejects(collect(out), InvalidParameter);
    });
  }

  it('fails a corrupt gzip stream with InvalidParameter', async () => {
    const bad = gzipSync(data);
    bad.fill(0x41, 20, bad.length - 20);
    await assert.rejects(collect(await decompressStream(chunked(bad, 4096))), InvalidParameter);
  });

  it('refuses a compression whose tool is missing', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      const input = chunked(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]), 2);
      await assert.rejects(decompressStream(input), (err: Error) => err instanceof InvalidParameter && /unsupported compression: zstd/.test(err.message));
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('feeds the tar reader: a gzipped archive reads like a plain one', async () => {
    const tar = await collect(tarStream((w) => w.addEntry({ name: 'f', type: 'file' }, data)));
    const { entries } = await readAll(await decompressStream(Readable.from([gzipSync(tar)])));
    assert.deepEqual(entries[0]!.body, data);
  });

  it('stops the tool when the reader gives up early', { skip: !have('xz') && 'xz is not installed' }, async () => {
    const big = compressWith('xz', Buffer.alloc(20 * 1024 * 1024, 'a'));
    const input = chunked(big, 4096);
    const out = await decompressStream(input);
    for await (const c of out) {
      assert.ok((c as Buffer).length > 0);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(input.destroyed);
  });
});
