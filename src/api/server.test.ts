import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ApiServer } from './server.js';
import { get, post, type Route } from './router.js';
import { StreamReply, noContent, hijacked } from './reply.js';
import { Conflict, NotFound, InvalidParameter } from '../lib/errors.js';
import { silentLog } from '../lib/log.js';

let dir: string;
let server: ApiServer;
let socket: string;

const routes: Route[] = [
  get('/things/:id', (req) => {
    if (req.params.id === 'missing') throw new NotFound('No such thing: missing');
    if (req.params.id === 'busy') throw new Conflict('thing is busy');
    if (req.params.id === 'boom') throw new Error('kaboom');
    return { id: req.params.id, version: req.version, force: req.query.force ?? null };
  }),
  get('/images/*name/json', (req) => ({ name: req.params.name })),
  post('/things', async (req) => {
    const body = await req.json<{ Name?: string }>();
    if (!body?.Name) throw new InvalidParameter('Name is required');
    return noContent();
  }),
  get('/stream', () => new StreamReply(Readable.from(['{"a":1}\n', '{"a":2}\n']))),
  post('/echo', (req) => {
    const sock = req.hijack();
    sock.pipe(sock);
    return hijacked;
  }),
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-api-'));
  socket = join(dir, 'api.sock');
  server = new ApiServer({ log: silentLog(), routes, serverHeader: 'Docker/test (linux)', experimental: false });
  await server.listen([{ kind: 'unix', path: socket }]);
});

after(async () => {
  await server.close(100);
  await rm(dir, { recursive: true, force: true });
});

/** Sends raw bytes and collects the answer until the server closes or `until` matches. */
function rawExchange(payload: string, until?: RegExp, then?: (s: net.Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socket);
    let data = '';
    let sent = false;
    s.on('data', (d) => {
      data += d.toString();
      if (then && !sent && /\r\n\r\n/.test(data)) { sent = true; then(s); }
      if (until && until.test(data)) { s.destroy(); resolve(data); }
    });
    s.on('end', () => resolve(data));
    s.on('error', reject);
    s.write(payload);
    setTimeout(() => { s.destroy(); reject(new Error(`timed out; got: ${JSON.stringify(data)}`)); }, 5000).unref();
  });
}

async function fetchJson(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const head = `${init.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
    Object.entries(init.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
    (init.body !== undefined ? `Content-Length: ${Buffer.byteLength(init.body)}\r\n` : '') + '\r\n' + (init.body ?? '');
  const raw = await rawExchange(head);
  const [headPart, ...rest] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(headPart!)![1]);
  return { status, head: headPart!, body: rest.join('\r\n\r\n') };
}

test('the socket is created with mode 0660', async () => {
  assert.equal((await stat(socket)).mode & 0o777, 0o660);
});

test('routes answer with and without a version prefix', async () => {
  const a = await fetchJson('/things/x?force=1');
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.body), { id: 'x', version: '1.41', force: '1' });
  const b = await fetchJson('/v1.30/things/y');
  assert.deepEqual(JSON.parse(b.body), { id: 'y', version: '1.30', force: null });
  assert.match(b.head, /Server: Docker\/test \(linux\)/);
  assert.match(b.head, /Api-Version: 1.41/i);
});

test('a greedy parameter takes slashes', async () => {
  const r = await fetchJson('/v1.41/images/library/busybox:latest/json');
  assert.deepEqual(JSON.parse(r.body), { name: 'library/busybox:latest' });
});

test('unknown routes answer 404 page not found', async () => {
  for (const path of ['/nope', '/v1.41/nope', '/things']) {
    const r = await fetchJson(path);
    assert.equal(r.status, 404, path);
    assert.deepEqual(JSON.parse(r.body), { message: 'page not found' });
  }
});

test('versions outside 1.24..1.41 are refused with dockerd wording', async () => {
  const old = await fetchJson('/v1.23/things/x');
  assert.equal(old.status, 400);
  assert.deepEqual(JSON.parse(old.body), {
    message: 'client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
  });
  const neu = await fetchJson('/v1.99/things/x');
  assert.equal(neu.status, 400);
  assert.deepEqual(JSON.parse(neu.body), { message: 'client version 1.99 is too new. Maximum supported API version is 1.41' });
  assert.equal((await fetchJson('/v1.24/things/x')).status, 200);
});

test('error classes map to statuses, unknown errors to 500', async () => {
  const cases: Array<[string, number, string]> = [
    ['missing', 404, 'No such thing: missing'], ['busy', 409, 'thing is busy'], ['boom', 500, 'kaboom'],
  ];
  for (const [id, status, message] of cases) {
    const r = await fetchJson(`/things/${id}`);
    assert.equal(r.status, status);
    assert.deepEqual(JSON.parse(r.body), { message });
  }
});

test('a malformed body is a 400 with a message, and the server goes on', async () => {
  const bad = await fetchJson('/things', { method: 'POST', body: '{"Name":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /invalid JSON/);
  const wrongType = await fetchJson('/things', { method: 'POST', body: 'Name=x', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(wrongType.status, 400);
  assert.match(JSON.parse(wrongType.body).message, /unsupported Content-Type header \(text\/plain\)/);
  const missing = await fetchJson('/things', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(missing.status, 400);
  const ok = await fetchJson('/things', { method: 'POST', body: '{"Name":"a"}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(ok.status, 204);
});

test('a garbage request line gets a 400 and the server survives', async () => {
  const r = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
  assert.match(r, /^HTTP\/1\.1 400/);
  assert.equal((await fetchJson('/things/x')).status, 200);
});

test('streamed replies arrive whole', async () => {
  const r = await fetchJson('/stream');
  assert.equal(r.status, 200);
  assert.match(r.body, /\{"a":1\}\n[\s\S]*\{"a":2\}\n/);
});

test('hijack with Upgrade: tcp answers 101 and carries raw bytes both ways', async () => {
  const got = await rawExchange(
    'POST /v1.41/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n',
    /ping-pong$/,
    (s) => s.write('ping-pong'),
  );
  assert.match(got, /^HTTP\/1\.1 101 UPGRADED\r\n/);
  assert.match(got, /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
  assert.match(got, /Connection: Upgrade\r\nUpgrade: tcp\r\n/);
  assert.ok(got.endsWith('\r\n\r\nping-pong'));
});

test('bytes sent right behind the upgrade request are not lost', async () => {
  const got = await rawExchange(
    'POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly-bytes',
    /early-bytes$/,
  );
  assert.match(got, /^HTTP\/1\.1 101 UPGRADED/);
});

test('hijack without Upgrade answers 200 raw-stream and then carries raw bytes', async () => {
  const got = await rawExchange(
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    /GET \/ not-http$/,
    (s) => s.write('GET / not-http'),
  );
  assert.match(got, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\n\r\n/);
  assert.ok(got.endsWith('\r\n\r\nGET / not-http'));
});
