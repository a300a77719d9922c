import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { SystemError } from '../lib/errors.js';
import { cgroupPids, parsePsOutput, top } from './top.js';

const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const name = `berth-top-test-${randomBytes(4).toString('hex')}`;
const dir = v2 ? `/sys/fs/cgroup/${name}` : `/sys/fs/cgroup/pids/${name}`;

function exited(c: ChildProcess): Promise<void> {
  return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
}

test('top lists exactly the processes of a real cgroup', async (t) => {
  mkdirSync(dir);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const c of children) if (c.pid) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
    await Promise.all(children.map(exited));
    rmdirSync(dir);
    assert.equal(existsSync(dir), false);
  });
  for (let i = 0; i < 2; i++) {
    const c = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(c);
    writeFileSync(`${dir}/cgroup.procs`, String(c.pid));
  }
  const outsider = spawn('sleep', ['1001'], { stdio: 'ignore' });
  children.push(outsider);
  const pids = cgroupPids(`/${name}`);
  assert.deepEqual(pids, children.slice(0, 2).map((c) => c.pid!).sort((a, b) => a - b));
  assert.equal(readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n').length, 2);

  const r = await top(pids, '');
  assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.equal(r.Processes.length, 2);
  for (const row of r.Processes) {
    assert.equal(row.length, r.Titles.length);
    assert.ok(pids.includes(Number(row[1])));
    assert.equal(row[7], 'sleep 1000', 'the command column keeps its spaces');
  }

  const aux = await top(pids, 'aux');
  assert.equal(aux.Titles[1], 'PID');
  assert.deepEqual(aux.Processes.map((p) => Number(p[1])).sort((a, b) => a - b), pids);

  const custom = await top(pids, '-o pid,comm');
  assert.deepEqual(custom.Titles, ['PID', 'COMMAND']);
  assert.deepEqual(custom.Processes.map((p) => p[1]), ['sleep', 'sleep']);

  // a selector that matches other processes too: rows are still filtered to the container
  const sel = await top(pids, '-C sleep -o pid,args');
  assert.deepEqual(sel.Processes.map((p) => Number(p[0])).sort((a, b) => a - b), pids);
  assert.ok(!sel.Processes.some((p) => Number(p[0]) === outsider.pid));

  await assert.rejects(top(pids, '-o comm'), (e: unknown) => e instanceof SystemError && e.message === "Couldn't find PID field in ps output");
  await assert.rejects(top(pids, '--no-such-option'), (e: unknown) => e instanceof SystemError && /^ps: /.test((e as Error).message));
  await assert.rejects(top(pids, '-ef --no-headers'), (e: unknown) => e instanceof SystemError && e.message === 'option --no-headers is not allowed');
  await assert.rejects(top(pids, '-o user=PID'), (e: unknown) => e instanceof SystemError && e.message === 'specifying "user=PID" is not allowed');
});

test('parsePsOutput keeps thread rows that follow a kept process', () => {
  const out = 'USER PID TID CMD\nroot 10 - a b\nroot - 10 -\nroot - 11 -\nroot 12 - c\nroot - 12 -\n';
  assert.deepEqual(parsePsOutput(out, [10]).Processes, [['root', '10', '-', 'a b'], ['root', '-', '10', '-'], ['root', '-', '11', '-']]);
  assert.deepEqual(cgroupPids('/no-such-cgroup-here'), []);
});
