import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { TestDaemon } from './harness.js';
import { dockerOk, sleep, useBusyboxDaemon, underPty } from './container-fixture.js';

/**
 * Issue 4 with the real docker CLI: `run -it` with detach keys and `attach`, TTY output and
 * initial size, pause/unpause, rename, kill signals, stop, --init, seccomp, capabilities,
 * --read-only, OOM kill and cgroup limits.
 */

let d: TestDaemon;
useBusyboxDaemon((x) => { d = x; });
const ok = (args: string[], opts: { input?: string } = {}) => dockerOk(d, args, opts);

const NET = ['--network', 'none'];



async function inspect(ref: string): Promise<any> {
  return JSON.parse(await ok(['inspect', '--type', 'container', ref]))[0];
}

test('docker run -it, detach with ctrl-p ctrl-q, then docker attach and exit', async () => {
  const r = await underPty(d, `docker run -it --name tty1 ${NET.join(' ')} busybox sh`,
    [[1500, 'echo hello-$((6*7))\n'], [1000, Buffer.from([0x10, 0x11])]], 1500);
  assert.match(r.out, /hello-42/);
  assert.equal((await inspect('tty1')).State.Running, true, r.out);
  const a = await underPty(d, 'docker attach tty1', [[1000, 'exit 5\n']], 1000);
  assert.equal(a.code, 5, a.out);
  let st = (await inspect('tty1')).State;
  for (let i = 0; i < 50 && st.Running; i++) { await sleep(100); st = (await inspect('tty1')).State; }
  assert.equal(st.ExitCode, 5);
});

test('docker run -t output and the initial TTY size', async () => {
  assert.equal(await ok(['run', '-t', '--rm', ...NET, 'busybox', 'echo', 'hi']), 'hi\r\n');
  const r = await underPty(d, `stty rows 33 cols 99; docker run --rm -it ${NET.join(' ')} busybox stty size`, [], 1500);
  assert.match(r.out, /33 99/);
});

test('pause and unpause', async () => {
  await ok(['run', '-d', '--name', 'p1', ...NET, 'busybox', 'sleep', '300']);
  await ok(['pause', 'p1']);
  assert.equal((await inspect('p1')).State.Paused, true);
  assert.match(await ok(['ps', '--filter', 'name=^p1$', '--format', '{{.Status}}']), /\(Paused\)/);
  const e = await d.docker(['exec', 'p1', 'true']);
  assert.notEqual(e.code, 0);
  assert.match(e.stderr, /is paused, unpause the container before exec/);
  const twice = await d.docker(['pause', 'p1']);
  assert.notEqual(twice.code, 0);
  assert.match(twice.stderr, /is already paused/);
  await ok(['unpause', 'p1']);
  assert.equal((await inspect('p1')).State.Paused, false);
  const again = await d.docker(['unpause', 'p1']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /is not paused/);
  await ok(['exec', 'p1', 'true']);
});

test('rename', async () => {
  const id = (await ok(['create', '--name', 'r-old', ...NET, 'busybox', 'true'])).trim();
  await ok(['create', '--name', 'r-taken', ...NET, 'busybox', 'true']);
  await ok(['rename', 'r-old', 'r-new']);
  assert.equal((await inspect('r-new')).Id, id);
  assert.equal((await inspect('r-new')).Name, '/r-new');
  assert.notEqual((await d.docker(['inspect', '--type', 'container', 'r-old'])).code, 0);
  const taken = await d.docker(['rename', 'r-new', 'r-taken']);
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /is already in use/);
});

test('kill -s USR1 reaches the trap; stop -t 1 of sleep gives 137', async () => {
  await ok(['run', '-d', '--name', 'k1', ...NET, 'busybox', 'sh', '-c', 'trap "exit 9" USR1; while true; do sleep 0.1; done']);
  await sleep(500);
  await ok(['kill', '-s', 'USR1', 'k1']);
  assert.equal((await ok(['wait', 'k1'])).trim(), '9');
  await ok(['run', '-d', '--name', 's1', ...NET, 'busybox', 'sleep', '300']);
  await ok(['stop', '-t', '1', 's1']);
  assert.equal((await inspect('s1')).State.ExitCode, 137);
});

test('--init, seccomp, --cap-drop ALL, --read-only', async () => {
  const ps = await ok(['run', '--rm', '--init', ...NET, 'busybox', 'ps', '-o', 'pid,comm']);
  assert.match(ps, /^\s*1\s+(docker-init|tini)\s*$/m, ps);
  assert.match(await ok(['run', '--rm', ...NET, 'busybox', 'grep', 'Seccomp:', '/proc/self/status']), /Seccomp:\s+2/);
  assert.match(await ok(['run', '--rm', ...NET, '--security-opt', 'seccomp=unconfined', 'busybox', 'grep', 'Seccomp:', '/proc/self/status']), /Seccomp:\s+0/);
  assert.match(await ok(['run', '--rm', ...NET, '--cap-drop', 'ALL', 'busybox', 'grep', 'CapEff', '/proc/1/status']), /CapEff:\s+0000000000000000/);
  const ro = await d.docker(['run', '--rm', ...NET, '--read-only', 'busybox', 'touch', '/x']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
});

test('OOM kill, --cpus and --pids-limit', async () => {
  const r = await d.docker(['run', '--name', 'oom1', ...NET, '-m', '32m', 'busybox', 'sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done']);
  assert.equal(r.code, 137, r.stderr);
  assert.equal((await inspect('oom1')).State.OOMKilled, true);
  const id = (await ok(['run', '-d', ...NET, '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'sleep', '300'])).trim();
  assert.equal((await readFile(`/sys/fs/cgroup/cpu/berth/${id}/cpu.cfs_quota_us`, 'utf8')).trim(), '50000');
  assert.equal((await readFile(`/sys/fs/cgroup/pids/berth/${id}/pids.max`, 'utf8')).trim(), '20');
});
