import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import type { TestDaemon } from './harness.js';
import { dockerOk, sleep, useBusyboxDaemon } from './container-fixture.js';

/**
 * Issue 4 with the real docker CLI: restart policies, health checks, `docker update` on a live
 * container (seen in its cgroup files) and the settings dockerd refuses or warns about at create.
 */

let d: TestDaemon;
const started = new Date();
useBusyboxDaemon((x) => { d = x; });
const ok = (args: string[], opts: { input?: string } = {}) => dockerOk(d, args, opts);

async function inspect(ref: string): Promise<any> {
  return JSON.parse(await ok(['inspect', '--type', 'container', ref]))[0];
}

/** Polls inspect until `cond` holds (at most `ms`), returning the last inspect. */
async function until(ref: string, cond: (c: any) => boolean, ms = 15_000): Promise<any> {
  const deadline = Date.now() + ms;
  let c = await inspect(ref);
  while (!cond(c) && Date.now() < deadline) {
    await sleep(100);
    c = await inspect(ref);
  }
  return c;
}

const NET = ['--network', 'none'];

test('restart policy on-failure:3: three restarts, then Exited with RestartCount 3', async () => {
  await ok(['run', '-d', '--name', 'of3', ...NET, '--restart', 'on-failure:3', 'busybox', 'sh', '-c', 'exit 1']);
  const c = await until('of3', (c) => c.RestartCount === 3 && !c.State.Running && !c.State.Restarting);
  assert.equal(c.RestartCount, 3);
  assert.equal(c.State.Status, 'exited');
  assert.equal(c.State.ExitCode, 1);
  assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  // And it stays so.
  await sleep(1000);
  const later = await inspect('of3');
  assert.equal(later.RestartCount, 3);
  assert.equal(later.State.Status, 'exited');
  const ev = (await ok(['events', '--since', String(Math.floor(started.getTime() / 1000)), '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'container=of3', '--filter', 'event=start', '--format', '{{.Action}}'])).trim().split('\n');
  assert.equal(ev.length, 4, 'one start and three restarts');
  await ok(['rm', 'of3']);
});

test('restart policy always: a container that exits 0 is restarted; docker stop keeps it stopped', async () => {
  await ok(['run', '-d', '--name', 'alw', ...NET, '--restart', 'always', 'busybox', 'true']);
  const c = await until('alw', (c) => c.RestartCount >= 2);
  assert.ok(c.RestartCount >= 2, `RestartCount ${c.RestartCount}`);
  assert.equal(c.State.ExitCode, 0);
  await ok(['stop', '-t', '1', 'alw']);
  const stopped = await inspect('alw');
  await sleep(1500);
  const later = await inspect('alw');
  assert.equal(later.State.Status, 'exited');
  assert.equal(later.State.Restarting, false);
  assert.equal(later.RestartCount, stopped.RestartCount, 'no restart after docker stop');
  // docker start brings it back under its policy (a manual start counts restarts from 0 again).
  const before = Date.parse(later.State.StartedAt);
  await ok(['start', 'alw']);
  const again = await until('alw', (c) => c.RestartCount >= 1 && Date.parse(c.State.StartedAt) > before);
  assert.ok(again.RestartCount >= 1, `RestartCount ${again.RestartCount} after docker start`);
  await ok(['rm', '-f', 'alw']);
});

test('restart policy unless-stopped: restarts a failing container; docker stop keeps it stopped', async () => {
  await ok(['run', '-d', '--name', 'us', ...NET, '--restart', 'unless-stopped', 'busybox', 'sh', '-c', 'sleep 0.2; exit 2']);
  const c = await until('us', (c) => c.RestartCount >= 1);
  assert.ok(c.RestartCount >= 1, `RestartCount ${c.RestartCount}`);
  await ok(['stop', '-t', '1', 'us']);
  const stopped = await inspect('us');
  await sleep(1500);
  const later = await inspect('us');
  assert.equal(later.State.Status, 'exited');
  assert.equal(later.RestartCount, stopped.RestartCount);
  await ok(['rm', 'us']);
});

test('restart policy no: an exit is final', async () => {
  await ok(['run', '-d', '--name', 'rno', ...NET, '--restart', 'no', 'busybox', 'sh', '-c', 'exit 4']);
  assert.equal((await ok(['wait', 'rno'])).trim(), '4');
  await sleep(500);
  const c = await inspect('rno');
  assert.equal(c.RestartCount, 0);
  assert.equal(c.State.Status, 'exited');
  assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  await ok(['rm', 'rno']);
});

test('health: starting → healthy → unhealthy, log of five, (healthy) in ps, health_status events', async () => {
  const since = String(Math.floor(Date.now() / 1000));
  // A long start period: failures before the first success do not count, so it stays "starting".
  await ok(['run', '-d', '--name', 'hc', ...NET, '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms',
    '--health-retries', '2', '--health-start-period', '60s', 'busybox', 'sleep', '300']);
  let c = await inspect('hc');
  assert.equal(c.State.Health.Status, 'starting');
  assert.deepEqual(c.Config.Healthcheck, { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 200_000_000, Retries: 2, StartPeriod: 60_000_000_000 });
  await sleep(700);
  assert.equal((await inspect('hc')).State.Health.Status, 'starting', 'failures in the start period do not count');

  await ok(['exec', 'hc', 'touch', '/tmp/ok']);
  c = await until('hc', (c) => c.State.Health.Status === 'healthy');
  assert.equal(c.State.Health.Status, 'healthy');
  assert.equal(c.State.Health.FailingStreak, 0);
  assert.match(await ok(['ps', '--filter', 'name=^hc$', '--format', '{{.Status}}']), /^Up .* \(healthy\)$/m);
  assert.equal((await ok(['ps', '-q', '--filter', 'health=healthy', '--no-trunc'])).trim(), c.Id);

  await ok(['exec', 'hc', 'rm', '/tmp/ok']);
  c = await until('hc', (c) => c.State.Health.Status === 'unhealthy');
  assert.equal(c.State.Health.Status, 'unhealthy');
  assert.ok(c.State.Health.FailingStreak >= 2);
  assert.match(await ok(['ps', '--filter', 'name=^hc$', '--format', '{{.Status}}']), /\(unhealthy\)$/m);
  // Keep failing until more than five results were made: the log holds the last five.
  c = await until('hc', (c) => c.State.Health.FailingStreak >= 7);
  const log = c.State.Health.Log;
  assert.equal(log.length, 5);
  for (const r of log) {
    assert.equal(r.ExitCode, 1);
    assert.equal(typeof r.Output, 'string');
    assert.ok(Date.parse(r.Start) <= Date.parse(r.End), `${r.Start} .. ${r.End}`);
  }
  assert.equal(c.State.Running, true, 'unhealthy does not stop the container');

  const ev = (await ok(['events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'container=hc', '--filter', 'event=health_status', '--format', '{{.Action}}'])).trim().split('\n');
  assert.ok(ev.includes('health_status: healthy'), ev.join('\n'));
  assert.ok(ev.includes('health_status: unhealthy'), ev.join('\n'));
  assert.ok(ev.indexOf('health_status: healthy') < ev.lastIndexOf('health_status: unhealthy'));
  await ok(['rm', '-f', 'hc']);
});

test('health: an image\'s healthcheck runs, --no-healthcheck turns it off', async () => {
  // Commit a container made with --health-cmd: the image carries the healthcheck.
  await ok(['create', '--name', 'hc-src', ...NET, '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '300']);
  await ok(['commit', 'hc-src', 'hc-image:latest']);
  await ok(['rm', 'hc-src']);
  assert.deepEqual(JSON.parse(await ok(['image', 'inspect', 'hc-image']))[0].Config.Healthcheck.Test, ['CMD-SHELL', 'true']);
  await ok(['run', '-d', '--name', 'hc-img', ...NET, 'hc-image']);
  const c = await until('hc-img', (c) => c.State.Health?.Status === 'healthy');
  assert.equal(c.State.Health.Status, 'healthy');
  await ok(['run', '-d', '--name', 'hc-off', ...NET, '--no-healthcheck', 'hc-image']);
  await sleep(600);
  const off = await inspect('hc-off');
  assert.deepEqual(off.Config.Healthcheck.Test, ['NONE']);
  assert.equal(off.State.Health, undefined);
  assert.doesNotMatch(await ok(['ps', '--filter', 'name=hc-off', '--format', '{{.Status}}']), /healthy|starting/);
  await ok(['rm', '-f', 'hc-img', 'hc-off']);
  await ok(['rmi', 'hc-image']);
});

test('docker update on a running container: memory, cpus and pids in the cgroup; restart policy', async () => {
  await ok(['run', '-d', '--name', 'upd', ...NET, '-m', '32m', 'busybox', 'sleep', '300']);
  const id = (await inspect('upd')).Id;
  const cg = (p: string) => readFile(`/sys/fs/cgroup/${p.replace('<id>', `berth/${id}`)}`, 'utf8').then((s) => s.trim());
  assert.equal(await cg('memory/<id>/memory.limit_in_bytes'), String(32 * 1024 * 1024));
  const out = await ok(['update', '-m', '48m', '--memory-swap', '96m', '--cpus', '0.5', '--pids-limit', '50', 'upd']);
  assert.equal(out.trim(), 'upd');
  assert.equal(await cg('memory/<id>/memory.limit_in_bytes'), String(48 * 1024 * 1024));
  assert.equal(await cg('memory/<id>/memory.memsw.limit_in_bytes').catch(() => String(96 * 1024 * 1024)), String(96 * 1024 * 1024));
  assert.equal(await cg('cpu/<id>/cpu.cfs_quota_us'), '50000');
  assert.equal(await cg('cpu/<id>/cpu.cfs_period_us'), '100000');
  assert.equal(await cg('pids/<id>/pids.max'), '50');
  const c = await inspect('upd');
  assert.equal(c.HostConfig.Memory, 48 * 1024 * 1024);
  assert.equal(c.HostConfig.MemorySwap, 96 * 1024 * 1024);
  assert.equal(c.HostConfig.NanoCpus, 500_000_000);
  assert.equal(c.HostConfig.PidsLimit, 50);

  await ok(['update', '--restart', 'on-failure:2', 'upd']);
  assert.deepEqual((await inspect('upd')).HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  // Memory below the minimum is refused as at create.
  const low = await d.docker(['update', '-m', '1m', 'upd']);
  assert.notEqual(low.code, 0);
  assert.match(low.stderr, /Minimum memory limit allowed is 6MB/);
  // The update event carries the container.
  const ev = await ok(['events', '--since', String(Math.floor(started.getTime() / 1000)), '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'container=upd', '--filter', 'event=update', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  assert.match(ev, /^update upd$/m);
  await ok(['rm', '-f', 'upd']);

  // An AutoRemove container's restart policy cannot change.
  await ok(['run', '-d', '--rm', '--name', 'upd-rm', ...NET, 'busybox', 'sleep', '300']);
  const refused = await d.docker(['update', '--restart', 'always', 'upd-rm']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Restart policy cannot be updated because AutoRemove is enabled for the container/);
  await ok(['rm', '-f', 'upd-rm']);
});

/** What the validation checks found wrong, reported together. */
const mismatches: string[] = [];

/** Runs `docker run -d` expecting the CLI's exit 125 and the message (nothing may be created). */
async function refused(args: string[], message: RegExp): Promise<void> {
  const r = await d.docker(['run', '-d', ...(args.includes('--network') ? [] : NET), ...args]);
  if (r.code !== 125 || !message.test(r.stderr)) {
    mismatches.push(`docker run -d ${args.join(' ')}: expected exit 125 and ${message}, got exit ${r.code}: ${(r.stdout + r.stderr).trim()}`);
  }
}

/** A raw create over the API expecting 400 and exactly the message. */
async function apiRefused(body: Record<string, unknown>, message: string): Promise<void> {
  const r = await d.request('POST', '/v1.41/containers/create', { body: { Image: 'busybox', Cmd: ['true'], ...body } });
  const got = r.status === 400 ? (r.json().message as string) : undefined;
  if (got !== message) mismatches.push(`POST /containers/create ${JSON.stringify(body)}: expected 400 "${message}", got ${r.status} ${r.body.trim()}`);
}

test('create validation: dockerd\'s messages, exit code 125', async () => {
  const existing = (await ok(['ps', '-aq'])).trim();
  await refused(['-m', '1m', 'busybox'], /Minimum memory limit allowed is 6MB/);
  await refused(['-m', '64m', '--memory-swap', '32m', 'busybox'], /Minimum memoryswap limit should be larger than memory limit, see usage/);
  await refused(['--cpuset-cpus', '99', 'busybox'], /Requested CPUs are not available - requested 99, available: 0-\d+/);
  await refused(['--cpus', '1', '--cpu-period', '100000', 'busybox'], /Conflicting options: Nano CPUs and CPU Period cannot both be set/);
  await refused(['-w', 'relative', 'busybox'], /the working directory 'relative' is invalid, it needs to be an absolute path/);
  await refused(['--restart', 'bogus', 'busybox'], /invalid restart policy/);
  await refused(['--security-opt', 'foo=bar', 'busybox'], /invalid --security-opt 2: "foo=bar"/);
  await refused(['--sysctl', 'kernel.bogus=1', 'busybox'], /sysctl 'kernel.bogus(=1)?' is not (whitelisted|allowed)/);
  await refused(['--sysctl', 'net.ipv4.ip_forward=1', '--network', 'host', 'busybox'], /sysctl 'net.ipv4.ip_forward' is not allowed in host network namespace/);
  await refused(['--restart', 'always', '--rm', 'busybox'], /onflicting options: .*--restart and --rm/);
  await refused(['-p', 'abc', 'busybox'], /invalid/i);
  // Nothing was made.
  assert.equal((await ok(['ps', '-aq'])).trim(), existing);

  // The daemon's own answers, where the CLI refuses first or to check the exact wording.
  await apiRefused({ HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } },
    "can't create 'AutoRemove' container with restart policy");
  await apiRefused({ HostConfig: { RestartPolicy: { Name: 'bogus', MaximumRetryCount: 0 } } }, "invalid restart policy 'bogus'");
  await apiRefused({ HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } } }, "maximum retry count cannot be used with restart policy 'always'");
  await apiRefused({ HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } } }, 'maximum retry count cannot be negative');
  await apiRefused({ HostConfig: { PortBindings: { 'abc/tcp': [{ HostIp: '', HostPort: '' }] } } }, 'invalid port specification: "abc"');
  await apiRefused({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: 'xyz' }] } } }, 'invalid port specification: "xyz"');
  await apiRefused({ HostConfig: { SecurityOpt: ['foo=bar'] } }, 'invalid --security-opt 2: "foo=bar"');
  await apiRefused({ HostConfig: { SecurityOpt: ['foo'] } }, 'invalid --security-opt 1: "foo"');
  await apiRefused({ HostConfig: { Sysctls: { 'kernel.bogus': '1' } } }, "sysctl 'kernel.bogus' is not whitelisted");
  await apiRefused({ HostConfig: { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } } },
    "sysctl 'net.ipv4.ip_forward' is not allowed in host network namespace");
  await apiRefused({ WorkingDir: 'relative' }, "the working directory 'relative' is invalid, it needs to be an absolute path");
  await apiRefused({ HostConfig: { Memory: 1024 * 1024 } }, 'Minimum memory limit allowed is 6MB');
  await apiRefused({ HostConfig: { NanoCpus: 1e9, CpuQuota: 50000 } }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  assert.equal((await ok(['ps', '-aq'])).trim(), existing);
  assert.deepEqual(mismatches, []);
});

test('create warnings: CPU shares clamped, blkio weight as this host allows', async () => {
  const r = await d.docker(['create', '--name', 'warn-shares', ...NET, '--cpu-shares', '1', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /WARNING: Changing requested CPUShares of 1 to minimum allowed of 2/);
  assert.equal((await inspect('warn-shares')).HostConfig.CpuShares, 2);
  const api = await d.request('POST', '/v1.41/containers/create', { body: { Image: 'busybox', HostConfig: { CpuShares: 300000, NetworkMode: 'none' } } });
  assert.equal(api.status, 201, api.body);
  assert.deepEqual(api.json().Warnings, ['Changing requested CPUShares of 300000 to maximum allowed of 262144']);

  // Block I/O weight: where the kernel has no weight file, a warning and the weight is dropped;
  // where it has one, 5 is out of the 10–1000 range.
  const hasWeight = (await readdir('/sys/fs/cgroup/blkio').catch(() => [] as string[])).some((f) => f === 'blkio.weight' || f === 'blkio.bfq.weight');
  const b = await d.docker(['create', '--name', 'warn-blkio', ...NET, '--blkio-weight', '5', 'busybox', 'true']);
  if (hasWeight) {
    assert.equal(b.code, 125, b.stderr);
    assert.match(b.stderr, /Range of blkio weight is from 10 to 1000/);
  } else {
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /WARNING: Your kernel does not support Block I\/O weight or the cgroup is not mounted\. Weight discarded\./);
    assert.equal((await inspect('warn-blkio')).HostConfig.BlkioWeight, 0);
  }
  await ok(['rm', '-f', 'warn-shares', api.json().Id, ...(b.code === 0 ? ['warn-blkio'] : [])]);
});
