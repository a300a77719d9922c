import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Request } from '../../request.js';
import { StreamReply } from '../../reply.js';
import { InvalidParameter } from '../../../lib/errors.js';
import { build, buildRequest } from './handlers.js';
import type { BuildBackend, BuildMessage, BuildRequest } from './backend.js';

function req(query: string): Request {
  const searchParams = new URLSearchParams(query);
  const q: Record<string, string> = {};
  for (const [k, v] of searchParams) if (!(k in q)) q[k] = v;
  return { query: q, searchParams, headers: {}, body: new PassThrough(), signal: new AbortController().signal } as unknown as Request;
}

function backend(run: (r: BuildRequest, emit: (m: BuildMessage) => Promise<void>) => Promise<string>): BuildBackend {
  return { experimental: false, build: run, prune: async () => ({ CachesDeleted: null, SpaceReclaimed: 0 }) };
}

async function text(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += c.toString();
  return out;
}

test('the query as dockerd reads it: several t, rm true by default, JSON buildargs and labels', () => {
  const r = buildRequest(req('t=a:1&t=b&buildargs=%7B%22X%22%3A%221%22%2C%22Y%22%3Anull%7D&labels=%7B%22l%22%3A%22v%22%7D&nocache=1&extrahosts=h%3A1.2.3.4&memory=1048576'), false);
  assert.deepEqual(r.tags, ['a:1', 'b']);
  assert.equal(r.rm, true);
  assert.deepEqual(r.buildArgs, { X: '1', Y: null });
  assert.deepEqual(r.labels, { l: 'v' });
  assert.equal(r.noCache, true);
  assert.deepEqual(r.extraHosts, ['h:1.2.3.4']);
  assert.equal(r.memory, 1048576);
  assert.equal(buildRequest(req('rm=0'), false).rm, false);
  assert.throws(() => buildRequest(req('squash=1'), false), /squash is only supported with experimental mode/);
  assert.throws(() => buildRequest(req('squash=1'), true), /squash is not supported by this daemon's builder yet/);
  assert.throws(() => buildRequest(req('version=3'), false), /invalid version "3"/);
  assert.equal(buildRequest(req('rm=0&forcerm=1'), false).rm, true);
  assert.throws(() => buildRequest(req('buildargs=%7Bbad'), false), (e: Error) => e instanceof InvalidParameter && e.message.startsWith('error reading build args: '));
});

test('an error before any output is the response status; after output it travels as errorDetail', async () => {
  await assert.rejects(async () => build(backend(async () => { throw new InvalidParameter('dockerfile parse error line 2: x'); }))(req('')),
    /dockerfile parse error line 2/);
  const reply = await build(backend(async (_r, emit) => {
    await emit({ stream: 'Step 1/1 : RUN false\n' });
    throw Object.assign(new Error("The command '/bin/sh -c false' returned a non-zero code: 1"), { code: 1 });
  }))(req(''));
  assert.ok(reply instanceof StreamReply);
  const lines = (await text(reply.stream)).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { stream: 'Step 1/1 : RUN false\n' },
    { errorDetail: { code: 1, message: "The command '/bin/sh -c false' returned a non-zero code: 1" }, error: "The command '/bin/sh -c false' returned a non-zero code: 1" },
  ]);
});
