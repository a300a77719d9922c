import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { TestDaemon, ROOT, run, exists, alive, settled, tasksLeft } from './harness.js';

/**
 * Issue 8, containers only: what a daemon restart (SIGTERM or SIGKILL), live-restore and the
 * shutdown timeout do to containers, checked with the real docker CLI against real berthds that
 * restart on the same directories.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Daemons still to be cleaned up if a test fails half-way. */
const open = new Set<TestDaemon>();
const leaksSeen: string[] = [];

/** Directories whose daemon a test stopped and has not started again (a test failed between). */
const stopped = new Set<string>();

after(async () => {
  for (const d of open) leaksSeen.push(...await finish(d).catch((err: Error) => [`cleanup failed: ${err.message}`]));
  // A daemon (without live-restore) on a left directory kills and removes what is left there.
  for (const dir of stopped) {
    leaksSeen.push(`a test left ${dir} without a daemon`);
    const d = await TestDaemon.start({ dir }).catch(() => undefined);
    if (d) await finish(d).catch(() => {});
  }
  assert.deepEqual(leaksSeen, []);
});

async function start(opts: { dir?: string; config?: Record<string, unknown>; args?: string[] } = {}): Promise<TestDaemon> {
  const d = await TestDaemon.start(opts);
  if (opts.dir) stopped.delete(opts.dir);
  open.add(d);
  if (!opts.dir) {
    const r = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), d.socket]);
    assert.equal(r.code, 0, r.stderr);
  }
  return d;
}

async function stop(d: TestDaemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  stopped.add(d.dir);
  const code = await d.stop(signal, 60_000);
  open.delete(d);
  return code;
}

/**
 * Removes every container (each must be removable), then stops the daemon and checks that no
 * containerd task, shim, containerd, mount, socket or cgroup of it is left. Returns the leaks.
 */
async function finish(d: TestDaemon): Promise<string[]> {
  open.delete(d);
  const leaks: string[] = [];
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  for (const id of ids) {
    const r = await d.docker(['rm', '-f', id]);
    if (r.code !== 0) leaks.push(`docker rm -f ${id} failed: ${r.stderr}`);
  }
  const known = [...ids, ...everSeen.get(d.dir) ?? []];
  // FIFOs (and their directories) of removed containers.
  const tasks = await tasksLeft(d);
  if (tasks) leaks.push(`containerd tasks left: ${tasks}`);
  const fifos = await settled(async () => (await run('find', [d.dir, '(', '-type', 'p', '-o', '-path', '*fifo*', ')'])).stdout
    .split('\n').filter((f) => known.some((id) => f.includes(id))));
  for (const f of fifos) leaks.push(`FIFO left: ${f}`);
  leaks.push(...await d.cleanup());
  for (const ctl of ['memory', 'pids', 'cpu']) {
    const left = await readdir(`/sys/fs/cgroup/${ctl}/berth`).catch(() => [] as string[]);
    for (const n of left.filter((n) => known.some((id) => n.startsWith(id)))) leaks.push(`${ctl} cgroup left: ${n}`);
  }
  return leaks;
}

/** Container IDs made in each daemon directory, for the cgroup leak check. */
const everSeen = new Map<string, string[]>();

async function runDetached(d: TestDaemon, args: string[]): Promise<string> {
  const r = await d.docker(['run', '-d', '--network', 'none', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  everSeen.set(d.dir, [...everSeen.get(d.dir) ?? [], id]);
  return id;
}

async function inspect(d: TestDaemon, ref: string): Promise<any> {
  const r = await d.docker(['inspect', '--type', 'container', ref]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout)[0];
}

/** Polls until `check` holds (bounded); returns the last value. */
async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await get();
  while (!check(v)) {
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${ms} ms (last: ${JSON.stringify(v)})`);
    await sleep(100);
    v = await get();
  }
  return v;
}

/** Mount points in /proc/self/mountinfo that lie under the daemon's directory. */
async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')
    .map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(`${dir}/`));
}

const SLEEP = ['busybox', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.2; done'];

test('SIGTERM restart: each restart policy ends as dockerd leaves it; --rm removed by the shutdown', async () => {
  let d = await start();
  const no = await runDetached(d, ['--name', 'p-no', '--stop-timeout', '1', ...SLEEP]);
  const always = await runDetached(d, ['--name', 'p-always', '--restart', 'always', '--stop-timeout', '1', ...SLEEP]);
  const unless = await runDetached(d, ['--name', 'p-unless', '--restart', 'unless-stopped', '--stop-timeout', '1', ...SLEEP]);
  const unlessStopped = await runDetached(d, ['--name', 'p-unless-stopped', '--restart', 'unless-stopped', '--stop-timeout', '1', ...SLEEP]);
  const onFailure = await runDetached(d, ['--name', 'p-onfail', '--restart', 'on-failure', '--stop-timeout', '1', ...SLEEP]);
  const alwaysStopped = await runDetached(d, ['--name', 'p-always-stopped', '--restart', 'always', '--stop-timeout', '1', ...SLEEP]);
  // Fails once, then runs: RestartCount 1 before the daemon restart.
  const counted = await runDetached(d, ['--name', 'p-counted', '--restart', 'always', '--stop-timeout', '1', 'busybox', 'sh', '-c',
    'trap "" TERM; if [ -f /ran ]; then while true; do sleep 0.2; done; fi; touch /ran; exit 3']);
  const rm = await runDetached(d, ['--name', 'p-rm', '--rm', '--stop-timeout', '1', ...SLEEP]);
  // Never started: a restart policy does not start it.
  const created = (await d.docker(['create', '--name', 'p-created', '--restart', 'always', '--network', 'none', ...SLEEP])).stdout.trim();
  // Used up its one retry before the restart: it stays exited, its count kept.
  const spent = await runDetached(d, ['--name', 'p-spent', '--restart', 'on-failure:1', 'busybox', 'sh', '-c', 'exit 2']);
  // Exited 0 on its own: on-failure does not bring it back.
  const clean = await runDetached(d, ['--name', 'p-clean', '--restart', 'on-failure', 'busybox', 'true']);
  await until('p-spent gave up', () => inspect(d, spent), (c) => c.State.Status === 'exited' && c.RestartCount === 1);
  await until('p-clean exited', () => inspect(d, clean), (c) => c.State.Status === 'exited');
  for (const ref of [unlessStopped, alwaysStopped]) {
    const r = await d.docker(['stop', '-t', '1', ref]);
    assert.equal(r.code, 0, r.stderr);
  }
  const before = await until('p-counted restarted once', () => inspect(d, counted), (c) => c.State.Running && c.RestartCount >= 1);
  assert.equal(before.RestartCount, 1);
  const pidsBefore = new Map<string, number>();
  for (const id of [no, always, unless, onFailure, counted, rm]) {
    const c = await inspect(d, id);
    assert.equal(c.State.Running, true, `${c.Name} runs before the restart`);
    pidsBefore.set(id, c.State.Pid);
  }

  assert.equal(await stop(d, 'SIGTERM'), 0, d.logs);
  // The processes are gone with the daemon (no live-restore), and the --rm one was removed
  // by the shutdown's stop, not left for the next start.
  for (const [id, pid] of pidsBefore) assert.equal(alive(pid), false, `process of ${id} still runs after the shutdown`);
  assert.equal(await exists(join(d.dataRoot, 'containers', rm)), false, 'the --rm container is removed by the shutdown');

  d = await start({ dir: d.dir });
  const state = async (id: string) => (await inspect(d, id)).State;
  const s = await state(no);
  assert.equal(s.Status, 'exited');
  assert.equal(s.Running, false);
  assert.ok([137, 143].includes(s.ExitCode), `p-no exit code ${s.ExitCode}`);
  for (const [name, id] of [['p-always', always], ['p-unless', unless], ['p-onfail', onFailure], ['p-always-stopped', alwaysStopped], ['p-counted', counted]] as const) {
    const c = await until(`${name} running after the restart`, () => inspect(d, id), (c) => c.State.Running && !c.State.Restarting);
    assert.equal(c.State.Status, 'running', name);
    assert.notEqual(c.State.Pid, pidsBefore.get(id), `${name} is a new process`);
    // dockerd starts them with a reset restart manager: the count begins again at 0.
    assert.equal(c.RestartCount, 0, `${name} RestartCount`);
  }
  assert.equal((await state(created)).Status, 'created', 'a never-started always container is not started');
  const sp = await inspect(d, spent);
  assert.equal(sp.State.Status, 'exited', 'on-failure:1 with its retry used stays exited');
  assert.equal(sp.State.ExitCode, 2);
  assert.equal(sp.RestartCount, 1);
  const cl = await inspect(d, clean);
  assert.equal(cl.State.Status, 'exited', 'on-failure that exited 0 stays exited');
  assert.equal(cl.State.ExitCode, 0);
  const us = await state(unlessStopped);
  assert.equal(us.Status, 'exited', 'unless-stopped stopped by hand stays stopped');
  assert.equal(us.Running, false);
  const gone = await d.docker(['inspect', '--type', 'container', rm]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /No such container/);
  const ps = (await d.docker(['ps', '--format', '{{.Names}}'])).stdout.trim().split('\n').sort();
  assert.deepEqual(ps, ['p-always', 'p-always-stopped', 'p-counted', 'p-onfail', 'p-unless']);
  leaksSeen.push(...await finish(d));
});

test('SIGKILL of berthd without live-restore: the next start stops, records, unmounts and removes --rm', async () => {
  let d = await start();
  const plain = await runDetached(d, ['--name', 'k-plain', '--stop-timeout', '1', ...SLEEP]);
  const second = await runDetached(d, ['--name', 'k-second', '--stop-timeout', '1', ...SLEEP]);
  const rm = await runDetached(d, ['--name', 'k-rm', '--rm', '--stop-timeout', '1', ...SLEEP]);
  const always = await runDetached(d, ['--name', 'k-always', '--restart', 'always', '--stop-timeout', '1', ...SLEEP]);
  const exited = await runDetached(d, ['--name', 'k-exited', 'busybox', 'sh', '-c', 'exit 5']);
  await until('k-exited exited', () => inspect(d, exited), (c) => c.State.Status === 'exited');
  const pids = new Map<string, number>();
  for (const id of [plain, second, rm, always]) pids.set(id, (await inspect(d, id)).State.Pid);

  await stop(d, 'SIGKILL');
  d = await start({ dir: d.dir });
  for (const [id, pid] of pids) assert.equal(alive(pid), false, `process ${pid} of ${id} survives the restart`);
  for (const id of [plain, second]) {
    const c = await inspect(d, id);
    assert.equal(c.State.Running, false, c.Name);
    assert.equal(c.State.Status, 'exited', c.Name);
    assert.equal(c.State.Pid, 0, c.Name);
    assert.notEqual(c.State.ExitCode, 0, `${c.Name} has an exit code recorded`);
    assert.ok(Date.parse(c.State.FinishedAt) > Date.parse(c.State.StartedAt), `${c.Name} FinishedAt ${c.State.FinishedAt}`);
  }
  const e = await inspect(d, exited);
  assert.equal(e.State.ExitCode, 5, 'an exit from before the crash is kept');
  const gone = await d.docker(['inspect', '--type', 'container', rm]);
  assert.notEqual(gone.code, 0, 'the --rm container is removed at the next start');
  const a = await until('k-always running again', () => inspect(d, always), (c) => c.State.Running && !c.State.Restarting);
  assert.notEqual(a.State.Pid, pids.get(always));

  // Only what the one running container needs is mounted under the daemon's directories.
  // (and the network namespaces this daemon made ahead for bridge starts, named by its pid).
  const pool = join(d.execRoot, 'netns-pool', `${d.pid}-`);
  const allowed = [a.GraphDriver?.Data?.MergedDir, join(d.dataRoot, 'containers', always), join(d.execRoot, 'containerd'), a.NetworkSettings?.SandboxKey]
    .filter((p): p is string => !!p);
  const mounted = await mountsUnder(d.dir);
  assert.ok(mounted.includes(a.GraphDriver.Data.MergedDir), `the running container's root is mounted: ${mounted.join(' ')}`);
  const stray = mounted.filter((m) => !allowed.some((p) => m === p || m.startsWith(`${p}/`)) && !m.startsWith(pool));
  assert.deepEqual(stray, [], 'mounts left from before the crash');
  for (const id of [plain, second, exited]) {
    assert.deepEqual((await mountsUnder(d.dir)).filter((m) => m.includes(id)), [], `mounts of stopped ${id}`);
  }
  for (const id of [plain, second, exited, always]) {
    const r = await d.docker(['rm', '-f', id]);
    assert.equal(r.code, 0, r.stderr);
  }
  leaksSeen.push(...await finish(d));
});

const COUNTER = ['busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'];

async function counterLines(d: TestDaemon, ref: string): Promise<number[]> {
  const r = await d.docker(['logs', ref]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

function assertSequence(lines: number[], what: string): void {
  assert.ok(lines.length > 0, `${what}: no lines`);
  const bad = lines.findIndex((n, i) => n !== i + 1);
  assert.equal(bad, -1, `${what}: the sequence breaks at line ${bad + 1}: ${lines.slice(Math.max(0, bad - 3), bad + 3).join(',')}`);
}

test('--live-restore: a counter keeps running across a SIGKILL and a SIGTERM of berthd, logs without gap, exec/stop/logs -f work', async () => {
  const config = { 'live-restore': true };
  let d = await start({ config });
  const id = await runDetached(d, ['--name', 'counter', '--stop-timeout', '1', ...COUNTER]);
  await until('counter writes', () => counterLines(d, id), (l) => l.length >= 5);
  const pid = (await inspect(d, id)).State.Pid;
  assert.ok(pid > 0);

  await stop(d, 'SIGKILL');
  await sleep(500); // it keeps writing into its FIFO while no daemon reads
  assert.equal(alive(pid), true, 'the container outlives a SIGKILLed daemon');
  d = await start({ dir: d.dir, config });
  let c = await inspect(d, id);
  assert.equal(c.State.Running, true);
  assert.equal(c.State.Status, 'running');
  assert.equal(c.State.Pid, pid, 'the same process after the SIGKILL restart');
  const afterKill = await until('counter logs grow after the SIGKILL restart', () => counterLines(d, id), (l) => l.length >= 15);
  assertSequence(afterKill, 'after SIGKILL');

  assert.equal(await stop(d, 'SIGTERM'), 0, d.logs);
  assert.equal(alive(pid), true, 'the container outlives a SIGTERMed daemon with live-restore');
  await sleep(300);
  d = await start({ dir: d.dir, config });
  c = await inspect(d, id);
  assert.equal(c.State.Running, true);
  assert.equal(c.State.Pid, pid, 'the same process after the SIGTERM restart');
  const n = afterKill.length;
  const afterTerm = await until('counter logs grow after the SIGTERM restart', () => counterLines(d, id), (l) => l.length >= n + 10);
  assertSequence(afterTerm, 'after SIGTERM');

  // Adopting the task mounts nothing a second time.
  const merged = c.GraphDriver.Data.MergedDir as string;
  assert.deepEqual((await mountsUnder(d.dir)).filter((m) => m === merged), [merged], 'the root is mounted once');

  const ex = await d.docker(['exec', id, 'sh', '-c', 'echo exec-ok; cat /proc/1/cmdline | tr "\\0" " "']);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /^exec-ok\nsh -c i=0/);

  // logs -f follows lines written after it began.
  const follow = spawn('docker', ['logs', '-f', '--tail', '1', id], {
    env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let followed = '';
  follow.stdout.on('data', (b: Buffer) => { followed += b; });
  const followEnd = new Promise((r) => follow.once('exit', r));
  try {
    await until('logs -f reads new lines', async () => followed, (t) => t.split('\n').filter(Boolean).length >= 4);
  } finally {
    follow.kill('SIGTERM');
    await followEnd;
  }
  const seen = followed.split('\n').filter(Boolean).map(Number);
  for (let i = 1; i < seen.length; i++) assert.equal(seen[i], seen[i - 1]! + 1, `logs -f: ${seen.join(',')}`);
  assert.ok(seen[0]! >= afterTerm.length, 'logs -f starts at the end');

  const st = await d.docker(['stop', '-t', '1', id]);
  assert.equal(st.code, 0, st.stderr);
  c = await inspect(d, id);
  assert.equal(c.State.Status, 'exited');
  assert.equal(c.State.ExitCode, 137, 'the shell ignores SIGTERM as pid 1: killed after 1 s');
  assert.equal(alive(pid), false);
  assertSequence(await counterLines(d, id), 'after stop');
  // No running container: this SIGTERM takes containerd down too (cleanup checks).
  leaksSeen.push(...await finish(d));
});

test('--live-restore off after a live-restore daemon: a task left running is killed at the next start', async () => {
  let d = await start({ config: { 'live-restore': true } });
  const id = await runDetached(d, ['--name', 'left', '--stop-timeout', '1', ...SLEEP]);
  const pid = (await inspect(d, id)).State.Pid;
  assert.equal(await stop(d, 'SIGTERM'), 0, d.logs);
  assert.equal(alive(pid), true);
  d = await start({ dir: d.dir });
  const c = await inspect(d, id);
  assert.equal(c.State.Running, false);
  assert.equal(c.State.Status, 'exited');
  assert.equal(alive(pid), false, 'the process is killed without live-restore');
  leaksSeen.push(...await finish(d));
});

test('a container caught in removal comes back Dead and can be removed; a corrupt config.v2.json is skipped with a log line', async () => {
  let d = await start();
  const removing = (await d.docker(['create', '--name', 'r-removing', 'busybox', 'true'])).stdout.trim();
  const corrupt = (await d.docker(['create', '--name', 'r-corrupt', 'busybox', 'true'])).stdout.trim();
  const fine = (await d.docker(['create', '--name', 'r-fine', 'busybox', 'true'])).stdout.trim();
  for (const id of [removing, corrupt, fine]) assert.match(id, /^[0-9a-f]{64}$/);
  await stop(d, 'SIGTERM');

  const file = join(d.dataRoot, 'containers', removing, 'config.v2.json');
  const text = await readFile(file, 'utf8');
  assert.match(text, /"Status":"created"/);
  await writeFile(file, text.replace('"Status":"created"', '"Status":"removing"'));
  await truncate(join(d.dataRoot, 'containers', corrupt, 'config.v2.json'), 40);

  d = await start({ dir: d.dir });
  const line = d.logs.split('\n').find((l) => l.includes(corrupt)) ?? '';
  assert.match(line, /config/i, `the daemon log names the skipped container and why:\n${d.logs}`);
  assert.match(line, /"level":("warn"|"error"|40|50)|level=(warn|error)/, line);
  const c = await inspect(d, removing);
  assert.equal(c.State.Dead, true);
  assert.equal(c.State.Status, 'dead');
  const ps = (await d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout.trim().split('\n').sort();
  assert.deepEqual(ps, ['r-fine Created', 'r-removing Dead']);
  const start2 = await d.docker(['start', removing]);
  assert.notEqual(start2.code, 0, 'a dead container cannot be started');
  const r = await d.docker(['rm', removing]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exists(join(d.dataRoot, 'containers', removing)), false);
  assert.equal((await d.docker(['rm', fine])).code, 0);
  leaksSeen.push(...await finish(d));
});

test('shutdown timeout: a SIGTERM-ignoring container is killed after its stop timeout and the daemon exits soon after', async () => {
  let d = await start({ args: ['--shutdown-timeout', '2'] });
  const id = await runDetached(d, ['--name', 't-stubborn', '--stop-timeout', '1', ...SLEEP]);
  const pid = (await inspect(d, id)).State.Pid;
  const t0 = Date.now();
  assert.equal(await stop(d, 'SIGTERM'), 0, d.logs);
  const took = Date.now() - t0;
  assert.ok(took < 15_000, `the daemon took ${took} ms to shut down`);
  assert.equal(alive(pid), false);
  assert.doesNotMatch(d.logs, /Force shutdown daemon/);
  d = await start({ dir: d.dir, args: ['--shutdown-timeout', '2'] });
  const c = await inspect(d, id);
  assert.equal(c.State.Status, 'exited');
  assert.equal(c.State.ExitCode, 137, 'killed after its stop timeout');
  leaksSeen.push(...await finish(d));
});

test('shutdown timeout: a container\'s --stop-timeout 30 lengthens a --shutdown-timeout 1 (the daemon waits for its clean exit)', async () => {
  // The container takes 3 s to exit after SIGTERM. With --shutdown-timeout 1 alone the daemon
  // would give up after 1 s ("Force shutdown daemon") and the next start would find the task
  // still there and kill it (137); dockerd's computed timeout is 30 + 5 = 35 s, so it waits.
  let d = await start({ args: ['--shutdown-timeout', '1'] });
  const id = await runDetached(d, ['--name', 't-slow', '--stop-timeout', '30', 'busybox', 'sh', '-c',
    'trap "sleep 3; exit 0" TERM; while true; do sleep 0.1; done']);
  const pid = (await inspect(d, id)).State.Pid;
  assert.equal(await stop(d, 'SIGTERM'), 0, d.logs);
  assert.equal(alive(pid), false);
  assert.doesNotMatch(d.logs, /Force shutdown daemon/);
  d = await start({ dir: d.dir, args: ['--shutdown-timeout', '1'] });
  const c = await inspect(d, id);
  assert.equal(c.State.Status, 'exited');
  assert.equal(c.State.ExitCode, 0, 'it exited on its own after its SIGTERM handler');
  leaksSeen.push(...await finish(d));
});

test('--live-restore: an adopted container keeps its restart policy, health check and pause state', async () => {
  const config = { 'live-restore': true };
  let d = await start({ config });
  const restarting = await runDetached(d, ['--name', 'l-restart', '--restart', 'always', '--stop-timeout', '1', 'busybox', 'sh', '-c',
    'trap "" TERM; while [ ! -f /stop ]; do sleep 0.1; done; rm /stop; exit 1']);
  const healthy = await runDetached(d, ['--name', 'l-health', '--stop-timeout', '1', '--health-cmd', 'test -f /ok',
    '--health-interval', '1s', '--health-retries', '1', ...SLEEP]);
  const paused = await runDetached(d, ['--name', 'l-paused', '--stop-timeout', '1', ...SLEEP]);
  assert.equal((await d.docker(['pause', paused])).code, 0);
  const rm = await runDetached(d, ['--name', 'l-rm', '--rm', '--stop-timeout', '1', ...SLEEP]);
  await until('l-health unhealthy', () => inspect(d, healthy), (c) => c.State.Health?.Status === 'unhealthy');
  const pid = (await inspect(d, restarting)).State.Pid;

  await stop(d, 'SIGKILL');
  d = await start({ dir: d.dir, config });
  const p = await inspect(d, paused);
  assert.equal(p.State.Status, 'paused');
  assert.equal(p.State.Paused, true);
  assert.equal(p.State.Running, true);
  assert.equal((await d.docker(['unpause', paused])).code, 0);
  assert.equal((await inspect(d, paused)).State.Status, 'running');

  // The health check runs again on the adopted container.
  const ok = await d.docker(['exec', healthy, 'touch', '/ok']);
  assert.equal(ok.code, 0, ok.stderr);
  await until('l-health healthy after the restart', () => inspect(d, healthy), (c) => c.State.Health?.Status === 'healthy');

  // Its exit after the restart is seen and the restart policy applies to it.
  const r = await inspect(d, restarting);
  assert.equal(r.State.Pid, pid);
  assert.equal(r.RestartCount, 0);
  const t = await d.docker(['exec', restarting, 'touch', '/stop']);
  assert.equal(t.code, 0, t.stderr);
  const again = await until('l-restart restarted by its policy', () => inspect(d, restarting),
    (c) => c.State.Running && !c.State.Restarting && c.State.Pid !== pid);
  assert.equal(again.RestartCount, 1);

  // An adopted --rm container is still removed when it stops.
  assert.equal((await inspect(d, rm)).State.Running, true);
  assert.equal((await d.docker(['stop', '-t', '1', rm])).code, 0);
  await until('l-rm removed after its stop', () => d.docker(['inspect', '--type', 'container', rm]), (r) => r.code !== 0);
  assert.equal(await exists(join(d.dataRoot, 'containers', rm)), false);
  leaksSeen.push(...await finish(d));
});

test('SIGTERM restart without live-restore: a paused container is stopped by the shutdown', async () => {
  let d = await start();
  const paused = await runDetached(d, ['--name', 'x-paused', '--stop-timeout', '1', ...SLEEP]);
  assert.equal((await d.docker(['pause', paused])).code, 0);
  const pid = (await inspect(d, paused)).State.Pid;
  assert.equal(await stop(d, 'SIGTERM'), 0, d.logs);
  assert.equal(alive(pid), false);
  d = await start({ dir: d.dir });
  const c = await inspect(d, paused);
  assert.equal(c.State.Status, 'exited');
  assert.equal(c.State.Paused, false);
  assert.equal(c.State.Running, false);
  assert.ok([137, 143].includes(c.State.ExitCode), String(c.State.ExitCode));
  leaksSeen.push(...await finish(d));
});

test('a container that exits while berthd is dead gets its own exit code and time recorded at the next start', async () => {
  let d = await start();
  const id = await runDetached(d, ['--name', 'e-late', 'busybox', 'sh', '-c', 'sleep 2; exit 7']);
  const pid = (await inspect(d, id)).State.Pid;
  await stop(d, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  assert.equal(alive(pid), false, 'the process ended on its own');
  const exitedBy = Date.now();
  d = await start({ dir: d.dir });
  const c = await inspect(d, id);
  assert.equal(c.State.Status, 'exited');
  assert.equal(c.State.ExitCode, 7, 'the exit code of the process, not one made up at restore');
  assert.ok(Date.parse(c.State.FinishedAt) <= exitedBy, `FinishedAt ${c.State.FinishedAt} is when it exited, not the restore`);
  leaksSeen.push(...await finish(d));
});
