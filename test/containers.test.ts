import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { TestDaemon, ROOT, run, tasksLeft } from './harness.js';

/** The first slice of containers: the real docker CLI and dockerode, on --network none/default. */
let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start();
  const r = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), d.socket]);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  for (const id of ids) await d.docker(['rm', '-f', id]);
  const tasks = await tasksLeft(d);
  const leaks = await d.cleanup();
  assert.equal(tasks, '', 'containerd tasks left');
  assert.deepEqual(leaks, []);
  for (const ctl of ['memory', 'pids', 'cpu']) {
    const left = await readdir(`/sys/fs/cgroup/${ctl}/berth`).catch(() => [] as string[]);
    assert.deepEqual(left.filter((n) => ids.some((id) => n.startsWith(id))), [], `${ctl} cgroups left`);
  }
});

test('docker run --rm busybox echo hi', async () => {
  const r = await d.docker(['run', '--rm', '--pull=never', 'busybox', 'echo', 'hi']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
  assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '', 'the --rm container is gone');
});

test('processes that exit at once: 20 runs in a row each return with their exit code, -d ones end exited', async () => {
  // The exit can reach the daemon before the start is recorded; it must still be the last word.
  for (let i = 0; i < 20; i++) {
    const net = i % 2 ? ['--network', 'none'] : [];
    const r = await d.docker(['run', '--rm', ...net, 'busybox', 'sh', '-c', `exit ${i}`], { timeoutMs: 30_000 });
    assert.equal(r.code, i, `run ${i}: ${r.stderr}`);
  }
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await d.docker(['run', '-d', ...(i % 2 ? ['--network', 'none'] : []), 'busybox', 'true'])).stdout.trim());
  for (const id of ids) {
    assert.equal((await d.docker(['wait', id], { timeoutMs: 30_000 })).stdout.trim(), '0');
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Running}}', id])).stdout.trim(), 'exited false');
    assert.equal((await d.docker(['rm', id])).code, 0);
  }
  assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
});

test('exit codes: the process\'s, 127 for a missing executable', async () => {
  const three = await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(three.code, 3);
  assert.equal(three.stdout, 'out\n');
  assert.equal(three.stderr, 'err\n');
  const missing = await d.docker(['run', '--rm', 'busybox', 'no-such-binary']);
  assert.equal(missing.code, 127, missing.stderr);
  // containerd's message as dockerd passes it on, with no prefix of ours.
  assert.match(missing.stderr, /^docker: Error response from daemon: failed to create shim task: OCI runtime create failed: .*exec: "no-such-binary": executable file not found in \$PATH/);
});

test('run -d, ps, logs, stop, rm', async () => {
  const r = await d.docker(['run', '-d', '--name', 'sleeper', 'busybox', 'sh', '-c', 'echo started; exec sleep 60']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await d.docker(['ps', '--format', '{{.Names}} {{.Status}}']);
  assert.match(ps.stdout, /^sleeper Up /m);
  let logs = '';
  for (let i = 0; i < 50 && !logs.includes('started'); i++) {
    logs = (await d.docker(['logs', 'sleeper'])).stdout;
    if (!logs.includes('started')) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(logs, 'started\n');
  // Still running after the runtime's ordinary call deadline (a wait must have none).
  await new Promise((res) => setTimeout(res, 11_000));
  assert.equal(JSON.parse((await d.docker(['inspect', 'sleeper'])).stdout)[0].State.Running, true);
  const dup = await d.docker(['run', '-d', '--name', 'sleeper', 'busybox', 'true']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /Conflict\. The container name "\/sleeper" is already in use by container/);
  const busy = await d.docker(['rm', 'sleeper']);
  assert.notEqual(busy.code, 0);
  assert.match(busy.stderr, /You cannot remove a running container/);
  assert.equal((await d.docker(['stop', '-t', '1', 'sleeper'])).code, 0);
  const inspect = JSON.parse((await d.docker(['inspect', 'sleeper'])).stdout)[0];
  assert.equal(inspect.State.Status, 'exited');
  assert.equal(inspect.State.Running, false);
  assert.equal(inspect.Name, '/sleeper');
  assert.ok([137, 143].includes(inspect.State.ExitCode), String(inspect.State.ExitCode));
  assert.equal((await d.docker(['rm', 'sleeper'])).code, 0);
  const gone = await d.docker(['inspect', 'sleeper']);
  assert.match(gone.stderr, /No such (container|object): sleeper/);
});

test('stdin piped to run -i reaches the process, and its end is the process\'s EOF', async () => {
  const r = await d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'hello berth\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'HELLO BERTH\n');
});

test('dockerode: create, attach, start, wait, remove', async () => {
  const docker = d.dockerode();
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo from-dockerode; exit 7'], HostConfig: { NetworkMode: 'none' } });
  const stream = await c.attach({ stream: true, stdout: true, stderr: true });
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => { text += b; });
  c.modem.demuxStream(stream, out, err);
  await c.start();
  // Default condition not-running: returns once it exited (at once if it already has).
  const res = await c.wait();
  assert.equal(res.StatusCode, 7);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(text, 'from-dockerode\n');
  const info = await c.inspect();
  assert.equal(info.State.ExitCode, 7);
  await c.remove();
  await assert.rejects(c.inspect(), /no such container/i);
});
