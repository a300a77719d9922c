import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { once } from 'node:events';
import { StatsSampler, readCgroupStats } from './index.js';

const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const name = `berth-stats-test-${randomBytes(4).toString('hex')}`;
const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'];
const dirs = v2 ? [`/sys/fs/cgroup/${name}`] : CONTROLLERS.map((c) => `/sys/fs/cgroup/${c}/${name}`);
const dirOf = (ctl: string) => (v2 ? dirs[0]! : `/sys/fs/cgroup/${ctl}/${name}`);

test('stats of a real cgroup with a process that burned CPU', async (t) => {
  for (const d of dirs) mkdirSync(d);
  const child: ChildProcess = spawn('sh', ['-c', 'read x; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo burned; exec sleep 1000'], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGKILL');
      await once(child, 'exit');
    }
    for (const d of dirs) rmdirSync(d);
    for (const d of dirs) assert.equal(existsSync(d), false);
  });
  const limit = 64 * 1024 * 1024;
  if (v2) {
    writeFileSync(`${dirs[0]}/memory.max`, String(limit));
    writeFileSync(`${dirs[0]}/pids.max`, '50');
  } else {
    writeFileSync(`${dirOf('memory')}/memory.limit_in_bytes`, String(limit));
    writeFileSync(`${dirOf('pids')}/pids.max`, '50');
  }
  for (const d of dirs) writeFileSync(`${d}/cgroup.procs`, String(child.pid));
  const burned = new Promise<void>((resolve) => child.stdout!.on('data', (b: Buffer) => b.toString().includes('burned') && resolve()));
  child.stdin!.write('\n');
  await burned;

  const sampler = new StatsSampler(`/${name}`, { pid: () => child.pid, name: '/test', id: 'abc' });
  const first = await sampler.once(true);
  assert.equal(first.preread, '0001-01-01T00:00:00Z');
  assert.equal(first.precpu_stats.cpu_usage.total_usage, 0);
  assert.equal(first.name, '/test');
  assert.equal(first.id, 'abc');
  assert.ok(first.cpu_stats.cpu_usage.total_usage > 0, 'the loop burned CPU in the cgroup');
  assert.ok(first.cpu_stats.cpu_usage.usage_in_usermode + first.cpu_stats.cpu_usage.usage_in_kernelmode > 0);
  assert.ok(first.cpu_stats.system_cpu_usage! > first.cpu_stats.cpu_usage.total_usage);
  assert.equal(first.cpu_stats.online_cpus, cpus().length);
  if (!v2) {
    const percpu = first.cpu_stats.cpu_usage.percpu_usage!;
    assert.equal(percpu.reduce((a, b) => a + b, 0), first.cpu_stats.cpu_usage.total_usage);
    assert.equal(first.cpu_stats.cpu_usage.total_usage, Number(readFileSync(`${dirOf('cpuacct')}/cpuacct.usage`, 'utf8')));
    assert.ok(first.memory_stats.max_usage! >= first.memory_stats.usage!);
    assert.ok('rss' in first.memory_stats.stats!);
  }
  assert.ok(first.memory_stats.usage! > 0);
  assert.equal(first.memory_stats.limit, limit);
  assert.equal(first.pids_stats.current, 1);
  assert.equal(first.pids_stats.limit, 50);
  assert.ok('io_service_bytes_recursive' in first.blkio_stats);
  const ifaces = readFileSync(`/proc/${child.pid}/net/dev`, 'utf8').split('\n').slice(2)
    .map((l) => l.split(':')[0]!.trim()).filter((n) => n && n !== 'lo').sort();
  assert.deepEqual(Object.keys(first.networks ?? {}).sort(), ifaces);

  const second = await sampler.sample();
  assert.equal(second.preread, first.read);
  assert.deepEqual(second.precpu_stats, first.cpu_stats);

  const ac = new AbortController();
  const got = [];
  for await (const s of sampler.stream(ac.signal, 50)) {
    got.push(s);
    if (got.length === 3) ac.abort();
  }
  assert.equal(got.length, 3);
  assert.equal(got[1]!.preread, got[0]!.read);
  assert.ok(got[2]!.cpu_stats.cpu_usage.total_usage >= got[0]!.cpu_stats.cpu_usage.total_usage);

  const two = await new StatsSampler(`/${name}`).once(false, undefined, 50);
  assert.notEqual(two.preread, '0001-01-01T00:00:00Z');
  assert.ok(two.precpu_stats.cpu_usage.total_usage > 0);
  assert.equal(two.networks, undefined, 'no pid, no networks');

  // no limit: the host's memory, as dockerd reports it
  if (!v2) writeFileSync(`${dirOf('memory')}/memory.limit_in_bytes`, '-1');
  else writeFileSync(`${dirs[0]}/memory.max`, 'max');
  assert.equal((await readCgroupStats(`/${name}`)).memory_stats.limit, totalmem());
});
