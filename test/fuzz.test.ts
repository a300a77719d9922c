import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { TestDaemon, ROOT, run, alive } from './harness.js';

/**
 * Bad input (issue 8): thousands of generated malformed requests across the endpoints, seeded
 * and bounded in count and time. Every answer must be a 4xx with a JSON `{"message"}` (no
 * 5xx for a client's mistake, no hang), the daemon must stay up, and `docker ps` must still
 * list exactly what the test made. Endpoints that would reach a registry (pull, push, login,
 * distribution inspect) are left out: the test never talks to anything but loopback.
 */
const COUNT = Number(process.env.BERTH_FUZZ_COUNT ?? 10_000);
const TIME_CAP_MS = Number(process.env.BERTH_FUZZ_SECONDS ?? 150) * 1000;
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 7);

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

let d: TestDaemon;
let real: string;
before(async () => {
  d = await TestDaemon.start();
  const r = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), d.socket]);
  assert.equal(r.code, 0, r.stderr);
  const c = await d.docker(['create', '--name', 'fuzz-target', '--network', 'none', 'busybox', 'true']);
  assert.equal(c.code, 0, c.stderr);
  real = c.stdout.trim();
});
after(async () => {
  await d.docker(['rm', '-f', 'fuzz-target']);
  assert.deepEqual(await d.cleanup(), []);
});

interface Req { method: string; path: string; body?: Buffer | string; headers?: Record<string, string> }

function generator(rnd: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const badIds = () => pick(['..', '%2e%2e', '%00', 'x'.repeat(300 + Math.floor(rnd() * 2000)), '%F0%9F%90%B3', 'a%20b', '-', 'nosuch', '%2Fetc%2Fpasswd', "'", 'g0', 'sha256:zz']);
  const jsonJunk = (): string => pick([
    '[]', '5', '"x"', 'null', 'true', '{', '{"Image":', '{}', '{"Image":5}', '{"Image":"busybox","Cmd":5}',
    '{"Image":"busybox","HostConfig":[]}', '{"Image":"busybox","HostConfig":{"Memory":"x"}}',
    '{"Image":"busybox","HostConfig":{"PortBindings":{"x":5}}}', '{"Image":"busybox","Env":[5]}',
    '{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":5}}}', '{"Image":"busybox","Healthcheck":{"Interval":-1}}',
    '{"Image":"no/such:image"}', '{"Image":"busybox","HostConfig":{"NetworkMode":5}}',
    '{"Cmd":[]}', '{"Cmd":"ls"}', '{"Detach":"yes"}', '{"Image":"busybox","HostConfig":{"Binds":[5]}}',
    `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, '{"Image":"busybox","HostConfig":{"CpuShares":1e400}}',
    '{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":5}]}}', '{"Image":"busybox","HostConfig":{"Devices":"x"}}',
  ]);
  const query = () => pick(['', '?all=maybe', '?limit=x', '?t=-5', '?t=abc', '?filters={bad', '?filters={"nosuch":["x"]}',
    '?filters={"status":["bogus"]}', '?filters=[]', '?signal=NOPE', '?signal=999', '?h=x&w=y', '?h=-1&w=-1', '?condition=bogus',
    '?tail=x', '?since=notatime', '?until=x', '?name=%00', '?name=' + 'n'.repeat(500), '?path=', '?path=..%2F..%2Fetc', '?force=2',
    '?size=x', '?ps_args=--no-headers', '?stream=x&one-shot=y', '?fromSrc=http%3A%2F%2F10.0.0.1%2Fx', '?repo=BAD%20NAME', '?container=nosuch']);
  const version = () => pick(['/v1.41', '/v1.41', '/v1.41', '', '/v0.1', '/v9.99', '/vx', '/v1.23']);
  const id = () => (rnd() < 0.2 ? real : badIds());
  const paths: Array<() => Req> = [
    () => ({ method: 'POST', path: `/containers/create${query()}`, body: jsonJunk() }),
    () => ({ method: 'GET', path: `/containers/json${query()}` }),
    () => ({ method: 'GET', path: `/containers/${id()}/json${query()}` }),
    () => ({ method: 'POST', path: `/containers/${badIds()}/start` }),
    () => ({ method: 'POST', path: `/containers/${id()}/stop${query()}` }),
    () => ({ method: 'POST', path: `/containers/${id()}/kill${query()}` }),
    () => ({ method: 'POST', path: `/containers/${id()}/pause` }),
    () => ({ method: 'POST', path: `/containers/${id()}/unpause` }),
    () => ({ method: 'POST', path: `/containers/${id()}/rename${query()}` }),
    () => ({ method: 'POST', path: `/containers/${id()}/update`, body: jsonJunk() }),
    () => ({ method: 'POST', path: `/containers/${id()}/resize${query()}` }),
    () => ({ method: 'POST', path: `/containers/${id()}/exec`, body: jsonJunk() }),
    () => ({ method: 'GET', path: `/containers/${id()}/top${query()}` }),
    () => ({ method: 'GET', path: `/containers/${badIds()}/logs${query()}` }),
    () => ({ method: 'GET', path: `/containers/${id()}/archive${query()}` }),
    () => ({ method: 'PUT', path: `/containers/${id()}/archive${query()}`, body: 'not a tar at all'.repeat(Math.floor(rnd() * 100)) }),
    () => ({ method: 'GET', path: `/containers/${id()}/changes` }),
    () => ({ method: 'POST', path: `/containers/${badIds()}/wait${query()}` }),
    () => ({ method: 'DELETE', path: `/containers/${badIds()}${query()}` }),
    () => ({ method: 'POST', path: `/containers/prune${query()}` }),
    () => ({ method: 'POST', path: `/commit${query()}`, body: jsonJunk() }),
    () => ({ method: 'POST', path: `/exec/${badIds()}/start`, body: jsonJunk() }),
    () => ({ method: 'GET', path: `/exec/${badIds()}/json` }),
    () => ({ method: 'POST', path: `/exec/${badIds()}/resize${query()}` }),
    () => ({ method: 'GET', path: `/images/json${query()}` }),
    () => ({ method: 'GET', path: `/images/${badIds()}/json` }),
    () => ({ method: 'GET', path: `/images/${badIds()}/history` }),
    () => ({ method: 'POST', path: `/images/${badIds()}/tag${query()}` }),
    () => ({ method: 'DELETE', path: `/images/${badIds()}${query()}` }),
    () => ({ method: 'POST', path: `/images/prune${query()}` }),
    () => ({ method: 'POST', path: '/images/load', body: 'garbage'.repeat(Math.floor(rnd() * 1000)) }),
    () => ({ method: 'POST', path: '/images/create?fromSrc=-', body: 'garbage' }),
    () => ({ method: 'GET', path: `/networks${query()}` }),
    () => ({ method: 'GET', path: `/networks/${badIds()}` }),
    () => ({ method: 'POST', path: '/networks/create', body: jsonJunk() }),
    () => ({ method: 'DELETE', path: `/networks/${badIds()}` }),
    () => ({ method: 'POST', path: `/networks/${badIds()}/connect`, body: jsonJunk() }),
    () => ({ method: 'GET', path: `/events?since=x&until=${pick(['y', '-1', '0'])}` }),
    () => ({ method: pick(['PATCH', 'PUT', 'OPTIONS', 'DELETE']), path: pick(['/containers/json', '/info', '/version', '/images/json']) }),
    () => ({ method: 'GET', path: `/${badIds()}/${badIds()}` }),
    () => ({ method: 'POST', path: '/containers/create', body: Buffer.alloc(17 * 1024 * 1024, 0x20) }),
    () => ({ method: 'GET', path: '/info', headers: { 'X-Junk': 'h'.repeat(70_000) } }),
    () => ({ method: 'POST', path: '/containers/create', body: '{"Image":"busybox"}', headers: { 'Content-Type': 'text/plain' } }),
  ];
  return (): Req => {
    const r = pick(paths)();
    return { ...r, path: `${version()}${r.path}` };
  };
}

function send(agent: http.Agent, r: Req): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    // A huge body goes on a connection of its own: the server may close it before taking it all.
    const huge = r.body !== undefined && Buffer.byteLength(r.body) > 1024 * 1024;
    const req = http.request({ socketPath: d.socket, agent: huge ? false : agent, method: r.method, path: r.path, headers: {
      ...(r.body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(r.body)) } : {}),
      ...r.headers,
    } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { if (body.length < 4096) body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('socket', (sock) => sock.on('error', () => {}));
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end(r.body);
  });
}

test('generated bad requests get 4xx JSON answers and never take the daemon down', { timeout: TIME_CAP_MS + 60_000 }, async () => {
  const rnd = prng(SEED);
  const next = generator(rnd);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const failures: string[] = [];
  const started = Date.now();
  let sent = 0;
  let previous = '';
  const worker = async () => {
    while (sent < COUNT && Date.now() - started < TIME_CAP_MS && failures.length < 20) {
      const r = next();
      sent++;
      const shown = `${r.method} ${r.path.slice(0, 160)}${r.body !== undefined ? ` body ${String(r.body).slice(0, 80)}` : ''}`;
      let res;
      const t0 = Date.now();
      try {
        res = await send(agent, r);
        if (process.env.BERTH_FUZZ_DEBUG && Date.now() - t0 > 500) console.log(`slow ${Date.now() - t0} ms: ${shown} (previous: ${previous})`);
        previous = shown;
      } catch (err) {
        // The server may refuse a huge header by closing; anything else is a failure.
        if (r.headers?.['X-Junk']) continue;
        // A body over the limit may be refused, and the connection closed, before it is all sent.
        if (r.body !== undefined && Buffer.byteLength(r.body) > 16 * 1024 * 1024 && /EPIPE|ECONNRESET/.test((err as Error).message)) continue;
        failures.push(`${shown}: ${(err as Error).message}`);
        continue;
      }
      if (res.status === 431 || res.status === 413) continue;
      if (res.status < 400 || res.status >= 500) {
        // Some requests are valid after all (GET /containers/json, a prune): 2xx is fine there.
        if (res.status < 300 && /^\/v1\.41\/(containers\/json|images\/json|networks|containers\/prune|images\/prune|networks\/prune|info|version|events)/.test(r.path.replace(/^(?!\/v)/, '/v1.41'))) continue;
        if (res.status < 300 && r.path.includes(real)) continue;
        if (res.status === 304) continue;
        failures.push(`${shown}: ${res.status} ${res.body.slice(0, 200)}`);
        continue;
      }
      if (r.method === 'HEAD') continue;
      let msg: unknown;
      try { msg = (JSON.parse(res.body) as { message?: unknown }).message; } catch { msg = undefined; }
      if (typeof msg !== 'string') failures.push(`${shown}: ${res.status} without a JSON message: ${res.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: Number(process.env.BERTH_FUZZ_WORKERS ?? 8) }, worker));
  agent.destroy();
  assert.ok(alive(d.pid), 'berthd died');
  assert.deepEqual(failures, [], `${failures.length} bad answers (seed ${SEED}), first ones:\n${failures.slice(0, 10).join('\n')}`);
  assert.ok(sent >= Math.min(COUNT, 2000), `only ${sent} requests were sent`);
  const ps = await d.docker(['ps', '-a', '--format', '{{.Names}}']);
  assert.equal(ps.code, 0, ps.stderr);
  // Nothing the fuzz sent created a container (a prune may have removed the test's own).
  assert.ok(['', 'fuzz-target'].includes(ps.stdout.trim()), `containers listed: ${ps.stdout}`);
});
