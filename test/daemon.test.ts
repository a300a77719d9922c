import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon, alive, exists, run, BERTHD } from './harness.js';

const daemons: TestDaemon[] = [];
async function start(opts: Parameters<typeof TestDaemon.start>[0] = {}): Promise<TestDaemon> {
  const d = await TestDaemon.start(opts);
  daemons.push(d);
  return d;
}
after(async () => {
  const leaks: string[] = [];
  // Newest first: a restarted daemon shares its directory with the one before it.
  for (const d of daemons.reverse()) leaks.push(...(await d.cleanup()));
  assert.deepEqual(leaks, []);
});

test('docker version shows client and server, API 1.41', async () => {
  const d = await start();
  const r = await d.docker(['version', '--format', '{{json .}}']);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.Server.ApiVersion, '1.41');
  assert.equal(v.Server.MinAPIVersion, '1.24');
  assert.equal(v.Server.Os, 'linux');
  const names = v.Server.Components.map((c: { Name: string }) => c.Name);
  assert.ok(names.includes('containerd') && names.includes('runc'), names.join(','));
  const containerd = v.Server.Components.find((c: { Name: string }) => c.Name === 'containerd');
  const own = await run('containerd', ['--version']);
  assert.ok(own.stdout.includes(containerd.Version), `${containerd.Version} not in ${own.stdout}`);
  assert.ok(v.Client.Version, 'client section present');

  const plain = await d.docker(['version']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /Server: Berth Engine/);
  assert.match(plain.stdout, /API version:\s+1\.41/);
});

test('docker info prints every section without error', async () => {
  const d = await start();
  const r = await d.docker(['info']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /error/i);
  assert.match(r.stdout, /Server Version: 20\.10/);
  assert.match(r.stdout, /Docker Root Dir: /);
  assert.ok(r.stdout.includes(d.dataRoot));
  const j = JSON.parse((await d.docker(['info', '--format', '{{json .}}'])).stdout);
  const os = await import('node:os');
  assert.equal(j.NCPU, os.cpus().length);
  assert.equal(j.MemTotal, os.totalmem());
  assert.equal(j.KernelVersion, os.release());
  assert.equal(j.OSType, 'linux');
  assert.equal(j.DockerRootDir, d.dataRoot);
  assert.match(j.ID, /^[0-9a-f-]{36}$/);
  assert.equal(j.DefaultRuntime, 'runc');
  assert.ok(j.Runtimes.runc);
  assert.equal(j.LiveRestoreEnabled, false);
  assert.equal(j.Containers, 0);
  assert.equal(j.CgroupDriver, 'cgroupfs');
});

test('the engine ID is stable across restarts', async () => {
  const d = await start();
  const id1 = (await d.request('GET', '/info')).json().ID;
  assert.equal(await d.stop(), 0);
  const d2 = await start({ dir: d.dir });
  assert.equal((await d2.request('GET', '/info')).json().ID, id1);
});

test('dockerode ping, version and info work', async () => {
  const d = await start();
  const docker = d.dockerode();
  assert.equal(String(await docker.ping()), 'OK');
  const v = await docker.version();
  assert.equal(v.ApiVersion, '1.41');
  const info = await docker.info();
  assert.equal(info.DockerRootDir, d.dataRoot);
});

test('/_ping headers, GET and HEAD', async () => {
  const d = await start();
  for (const method of ['GET', 'HEAD']) {
    const r = await d.request(method, '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.headers['api-version'], '1.41');
    assert.equal(r.headers['ostype'], 'linux');
    assert.equal(r.headers['docker-experimental'], 'false');
    assert.equal(r.headers['builder-version'], '1');
    assert.equal(r.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(r.headers['pragma'], 'no-cache');
    assert.equal(r.body, method === 'GET' ? 'OK' : '');
  }
  const versioned = await d.request('GET', '/v1.24/_ping');
  assert.equal(versioned.status, 200);
});

test('version negotiation, 404 and 400 bodies on the real daemon', async () => {
  const d = await start();
  const old = await d.request('GET', '/v1.12/version');
  assert.equal(old.status, 400);
  assert.match(old.json().message, /client version 1\.12 is too old\. Minimum supported API version is 1\.24/);
  const neu = await d.request('GET', '/v1.50/version');
  assert.equal(neu.status, 400);
  assert.equal(neu.json().message, 'client version 1.50 is too new. Maximum supported API version is 1.41');
  assert.equal((await d.request('GET', '/v1.30/version')).status, 200);
  const nf = await d.request('GET', '/v1.41/no/such/route');
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.json(), { message: 'page not found' });
  const badFilter = await d.request('GET', '/events?filters=%7Bnot-json&until=1');
  assert.equal(badFilter.status, 400);
  assert.ok(badFilter.json().message);
  const badSince = await d.request('GET', '/events?since=yesterday-ish');
  assert.equal(badSince.status, 400);
});

test('an events stream with until in the future ends by itself', async () => {
  const d = await start();
  const until = Math.floor(Date.now() / 1000) + 1;
  const r = await d.docker(['events', '--since', '0', '--until', String(until)], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stderr);
});

test('a second berthd on the same roots refuses to start, saying why', async () => {
  const d = await start();
  const second = await run(process.execPath, [BERTHD, ...TestDaemon.flags(d.dir)], { timeoutMs: 30_000 });
  assert.equal(second.code, 1);
  assert.match(second.stderr, /pid file found, ensure berthd is not running or delete/);
  // Same data root, different exec root and socket.
  const other = await mkdtemp(join(tmpdir(), 'bt-'));
  try {
    const third = await run(process.execPath, [BERTHD, '--data-root', d.dataRoot, '--exec-root', join(other, 'exec'),
      '-H', `unix://${join(other, 's.sock')}`, '--pidfile', join(other, 'p.pid'), '--config-file', join(d.dir, 'daemon.json')],
    { timeoutMs: 30_000 });
    assert.equal(third.code, 1);
    assert.match(third.stderr, new RegExp(`data root ${d.dataRoot} is in use by another berthd \\(pid ${d.pid}\\)`));
  } finally {
    await rm(other, { recursive: true, force: true });
  }
  // The first one is unharmed.
  assert.equal((await d.request('GET', '/_ping')).status, 200);
});

test('a stale pid file from a dead daemon does not block start-up', async () => {
  const d = await start();
  assert.equal(await d.stop('SIGKILL'), -1);
  const containerd = await d.containerdPid();
  // berthd was killed: its containerd lives on and is adopted by the next berthd.
  assert.ok(containerd && alive(containerd));
  const d2 = await start({ dir: d.dir });
  assert.equal(await d2.containerdPid(), containerd);
  assert.equal((await d2.request('GET', '/_ping')).status, 200);
});

test('SIGTERM: exits 0 within seconds, containerd stopped, pid file and socket removed', async () => {
  const d = await start();
  const containerd = await d.containerdPid();
  assert.ok(containerd && alive(containerd));
  const t0 = Date.now();
  assert.equal(await d.stop('SIGTERM'), 0);
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  assert.equal(alive(containerd), false, 'containerd still running');
  assert.equal(await exists(join(d.execRoot, 'berth.pid')), false);
  assert.equal(await exists(d.socket), false);
  assert.deepEqual(await d.cleanup(), []);
});

test('SIGINT shuts down the same way', async () => {
  const d = await start();
  assert.equal(await d.stop('SIGINT'), 0);
  assert.deepEqual(await d.cleanup(), []);
});

test('containerd is restarted after it is killed', async () => {
  const d = await start();
  const first = await d.containerdPid();
  assert.ok(first);
  process.kill(first, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  let second: number | undefined;
  while (Date.now() < deadline) {
    second = await d.containerdPid();
    if (second && second !== first && alive(second)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(second && second !== first, 'no new containerd');
  assert.match(d.logs, /containerd exited unexpectedly; restarting it/);
  // The daemon keeps answering, and talks to the new containerd.
  let ok = false;
  while (Date.now() < deadline && !ok) {
    ok = (await d.request('GET', '/version')).status === 200 && /containerd is back/.test(d.logs);
    if (!ok) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(ok, d.logs);
  assert.equal(await d.stop(), 0);
  assert.equal(alive(second), false);
});

test('SIGUSR1 writes a diagnostic report and the daemon keeps running', async () => {
  const d = await start();
  process.kill(d.pid, 'SIGUSR1');
  const deadline = Date.now() + 10_000;
  let reports: string[] = [];
  while (Date.now() < deadline && reports.length === 0) {
    reports = (await readdir(d.execRoot)).filter((f) => f.startsWith('berthd-report-') && f.endsWith('.json'));
    if (reports.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(reports.length, 1);
  const report = JSON.parse(await readFile(join(d.execRoot, reports[0]!), 'utf8'));
  assert.equal(report.header.processId, d.pid);
  assert.equal((await d.request('GET', '/_ping')).status, 200);
});

test('data root is 0711, exec root 0700, the socket 0660', async () => {
  const d = await start();
  const { stat } = await import('node:fs/promises');
  assert.equal((await stat(d.dataRoot)).mode & 0o777, 0o711);
  assert.equal((await stat(d.execRoot)).mode & 0o777, 0o700);
  assert.equal((await stat(d.socket)).mode & 0o777, 0o660);
  assert.ok(await exists(join(d.dataRoot, 'tmp')));
});
