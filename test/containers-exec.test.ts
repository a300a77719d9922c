import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { TestDaemon } from './harness.js';
import { dockerOk, sleep, useBusyboxDaemon, underPty } from './container-fixture.js';

/**
 * Issue 4 with the real docker CLI: `docker exec` streams, exit codes, user/env/workdir,
 * stdin, detached execs, errors, privileged execs, exec inspect, exec events and `exec -it`.
 */

let d: TestDaemon;
useBusyboxDaemon((x) => { d = x; });
const ok = (args: string[], opts: { input?: string } = {}) => dockerOk(d, args, opts);

const NET = ['--network', 'none'];


let c = '';

test('docker exec: streams and exit code, user, env and workdir, stdin, detached', async () => {
  c = (await ok(['run', '-d', ...NET, 'busybox', 'sleep', '300'])).trim();
  const r = await d.docker(['exec', c, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual([r.stdout, r.stderr, r.code], ['out\n', 'err\n', 3]);
  assert.match(await ok(['exec', '-u', '1000:1000', c, 'id']), /uid=1000 gid=1000/);
  assert.equal(await ok(['exec', '-e', 'FOO=bar', '-w', '/tmp', c, 'sh', '-c', 'echo $FOO; pwd']), 'bar\n/tmp\n');
  assert.equal(await ok(['exec', '-i', c, 'cat'], { input: 'hello\n' }), 'hello\n');
  await ok(['exec', '-d', c, 'sh', '-c', 'echo x > /tmp/d']);
  let got = '';
  for (let i = 0; i < 50 && got !== 'x'; i++) {
    got = (await d.docker(['exec', c, 'cat', '/tmp/d'])).stdout.trim();
    if (got !== 'x') await sleep(100);
  }
  assert.equal(got, 'x');
});

test('docker exec errors: missing executable, stopped container', async () => {
  const r = await d.docker(['exec', c, 'nope']);
  assert.equal(r.code, 126, r.stderr);
  // dockerd writes a start failure into the attached stdout stream, not as an API error.
  assert.match(r.stdout, /executable file not found/);
  const s = (await ok(['run', '-d', ...NET, 'busybox', 'sleep', '300'])).trim();
  await ok(['stop', '-t', '0', s]);
  const e = await d.docker(['exec', s, 'true']);
  assert.notEqual(e.code, 0);
  assert.match(e.stderr, /is not running/);
});

test('docker exec --privileged may change a link (CAP_NET_ADMIN); a plain exec may not', async () => {
  const plain = await d.docker(['exec', c, 'ip', 'link', 'set', 'lo', 'mtu', '1400']);
  assert.notEqual(plain.code, 0);
  // A privileged exec gets every capability the daemon itself holds (its bounding set).
  const priv = await d.docker(['exec', '--privileged', c, 'ip', 'link', 'set', 'lo', 'mtu', '1400']);
  const bnd = (await readFile('/proc/self/status', 'utf8')).match(/CapBnd:\s*(\w+)/)?.[1];
  assert.equal(priv.code, 0, `${priv.stdout}${priv.stderr}(host CapBnd ${bnd})`);
  assert.match(await ok(['exec', c, 'ip', 'link', 'show', 'lo']), /mtu 1400/);
});

test('exec inspect through dockerode; exec events', async () => {
  const t0 = Math.floor(Date.now() / 1000) - 1;
  const exec = await d.dockerode().getContainer(c).exec({ Cmd: ['sh', '-c', 'exit 4'], AttachStdout: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('exec stream did not end')), 20_000);
    stream.on('end', () => { clearTimeout(t); resolve(); });
    stream.on('close', () => { clearTimeout(t); resolve(); });
    stream.resume();
  });
  let info = await exec.inspect();
  for (let i = 0; i < 50 && info.Running; i++) { await sleep(100); info = await exec.inspect(); }
  assert.equal(info.ExitCode, 4);
  assert.equal(info.Running, false);
  const ev = await ok(['events', '--since', String(t0), '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', `container=${c}`, '--format', '{{.Action}}']);
  const actions = ev.trim().split('\n').map((a) => a.split(':')[0]);
  const i = actions.lastIndexOf('exec_create');
  assert.ok(i >= 0, ev);
  assert.deepEqual(actions.slice(i, i + 3), ['exec_create', 'exec_start', 'exec_die'], ev);
});

test('docker exec -it through a pty', async () => {
  const r = await underPty(d, `docker exec -it ${c} sh`, [[1000, 'echo $((6*7))\n'], [1000, 'exit 7\n']], 1000);
  assert.match(r.out, /42/);
  assert.equal(r.code, 7, r.out);
});
