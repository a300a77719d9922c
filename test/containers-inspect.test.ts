import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { exists, type TestDaemon } from './harness.js';
import { dockerOk, sleep, useBusyboxDaemon } from './container-fixture.js';

/**
 * Issue 4 with the real docker CLI: `ps` filters and sizes, `inspect` shape, `stats
 * --no-stream`, `top`, `container prune`, `wait`, and events in order.
 */

let d: TestDaemon;
const started = new Date();
useBusyboxDaemon((x) => { d = x; });
const ok = (args: string[], opts: { input?: string } = {}) => dockerOk(d, args, opts);

async function inspect(ref: string, size = false): Promise<any> {
  return JSON.parse(await ok(['inspect', '--type', 'container', ...(size ? ['-s'] : []), ref]))[0];
}

const NET = ['--network', 'none'];

/** Names of the ps-* containers that `docker ps -a` lists with the extra filters, sorted. */
async function names(...filters: string[]): Promise<string[]> {
  // Values of one key are alternatives: a name filter of the test's own replaces the ^ps- one.
  const base = filters.some((f) => f.startsWith('name=')) ? [] : ['--filter', 'name=^ps-'];
  const out = await ok(['ps', '-a', ...base, ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}']);
  return out.trim().split('\n').filter(Boolean).sort();
}

test('docker ps filters: status, exited, label, name, id, ancestor, before, since, expose, health; bad values', async () => {
  await ok(['run', '-d', '--name', 'ps-run', ...NET, '--label', 'role=web', '--expose', '8080', 'busybox', 'sleep', '300']);
  assert.equal((await d.docker(['run', '--name', 'ps-exit3', ...NET, '--label', 'role=db', 'busybox', 'sh', '-c', 'exit 3'])).code, 3);
  await ok(['create', '--name', 'ps-created', ...NET, '--label', 'role=web', 'busybox', 'true']);
  await ok(['run', '-d', '--name', 'ps-paused', ...NET, 'busybox', 'sleep', '300']);
  await ok(['pause', 'ps-paused']);
  await ok(['commit', 'ps-exit3', 'ps-child:1']);
  await ok(['run', '--name', 'ps-child', ...NET, 'ps-child:1', 'true']);
  await ok(['run', '-d', '--name', 'ps-health', ...NET, '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '300']);
  // Every filter is checked; the mismatches are reported together at the end.
  const mismatches: string[] = [];
  const expect = async (filters: string[], want: string[]) => {
    const got = await names(...filters);
    if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`ps -a --filter ${filters.join(' --filter ')}: expected ${want.join(',') || '(none)'}, got ${got.join(',') || '(none)'}`);
  };
  const all = ['ps-child', 'ps-created', 'ps-exit3', 'ps-health', 'ps-paused', 'ps-run'];
  await expect([], all);
  // Without -a only running (and paused) ones.
  const running = (await ok(['ps', '--filter', 'name=^ps-', '--format', '{{.Names}}'])).trim().split('\n').sort();
  assert.deepEqual(running, ['ps-health', 'ps-paused', 'ps-run']);

  await expect(['status=running'], ['ps-health', 'ps-run']);
  await expect(['status=paused'], ['ps-paused']);
  await expect(['status=created'], ['ps-created']);
  await expect(['status=exited'], ['ps-child', 'ps-exit3']);
  await expect(['status=exited', 'status=created'], ['ps-child', 'ps-created', 'ps-exit3']);
  await expect(['exited=3'], ['ps-exit3']);
  await expect(['exited=0'], ['ps-child']);
  await expect(['label=role=web'], ['ps-created', 'ps-run']);
  // ps-child's image, committed from ps-exit3, carries its label role=db.
  await expect(['label=role'], ['ps-child', 'ps-created', 'ps-exit3', 'ps-run']);
  await expect(['label=role=db'], ['ps-child', 'ps-exit3']);
  await expect(['label=role=web', 'status=running'], ['ps-run']);
  await expect(['name=ps-exit'], ['ps-exit3']);
  const runId = (await inspect('ps-run')).Id as string;
  await expect([`id=${runId.slice(0, 12)}`], ['ps-run']);
  await expect(['ancestor=ps-child:1'], ['ps-child']);
  await expect(['ancestor=busybox'], all);
  await expect(['before=ps-created'], ['ps-exit3', 'ps-run']);
  await expect(['since=ps-paused'], ['ps-child', 'ps-health']);
  await expect(['expose=8080'], ['ps-run']);
  await expect(['expose=8080/tcp'], ['ps-run']);
  await expect(['expose=9090'], []);
  for (let i = 0; i < 100 && (await inspect('ps-health')).State.Health.Status !== 'healthy'; i++) await sleep(100);
  await expect(['health=healthy'], ['ps-health']);
  await expect(['health=none'], ['ps-child', 'ps-created', 'ps-exit3', 'ps-paused', 'ps-run']);
  await expect(['health=unhealthy'], []);
  // The list's JSON shape for one of them.
  const listed = (await d.request('GET', `/v1.41/containers/json?filters=${encodeURIComponent(JSON.stringify({ name: ['^ps-run$'] }))}`)).json();
  assert.equal(listed.length, 1);
  assert.equal(listed[0].Id, runId);
  assert.deepEqual(listed[0].Names, ['/ps-run']);
  assert.equal(listed[0].Image, 'busybox');
  assert.equal(listed[0].State, 'running');
  assert.match(listed[0].Status, /^Up /);
  assert.deepEqual(listed[0].Labels, { role: 'web' });
  assert.equal(listed[0].Command, 'sleep 300');
  assert.equal(listed[0].HostConfig.NetworkMode, 'none');

  const bad = async (filter: string, message: RegExp) => {
    const r = await d.docker(['ps', '-a', '--filter', filter]);
    if (r.code === 0 || !message.test(r.stderr)) mismatches.push(`ps -a --filter ${filter}: expected an error ${message}, got exit ${r.code} ${r.stderr.trim()}`);
  };
  await bad('status=bogus', /invalid filter 'status=bogus'/i);
  await bad('health=bogus', /invalid filter 'health=bogus'|Unrecognised filter value for health: bogus/i);
  await bad('exited=x', /strconv.Atoi: parsing "x": invalid syntax/);
  await bad('bogus=1', /invalid filter 'bogus'/i);
  await bad('before=no-such', /No such container: no-such/);
  await ok(['unpause', 'ps-paused']);
  assert.deepEqual(mismatches, []);
});

test('sizes: ps -s and inspect -s', async () => {
  await ok(['exec', 'ps-run', 'dd', 'if=/dev/zero', 'of=/big', 'bs=1024', 'count=300']);
  const c = await inspect('ps-run', true);
  assert.ok(c.SizeRw >= 300 * 1024, `SizeRw ${c.SizeRw}`);
  assert.ok(c.SizeRootFs > c.SizeRw, `SizeRootFs ${c.SizeRootFs}`);
  const plain = await inspect('ps-run');
  assert.equal(plain.SizeRw, undefined);
  assert.equal(plain.SizeRootFs, undefined);
  const size = (await ok(['ps', '-s', '--filter', 'name=^ps-run$', '--format', '{{.Size}}'])).trim();
  assert.match(size, /^\d+(\.\d+)?kB \(virtual \d+(\.\d+)?[kM]B\)$/);
  const listed = (await d.request('GET', `/v1.41/containers/json?size=1&filters=${encodeURIComponent(JSON.stringify({ name: ['^ps-run$'] }))}`)).json();
  assert.equal(listed[0].SizeRw, c.SizeRw);
  assert.equal(listed[0].SizeRootFs, c.SizeRootFs);
});

test('inspect: GraphDriver.Data, State, HostConfig shape', async () => {
  const c = await inspect('ps-run');
  assert.equal(c.GraphDriver.Name, 'overlay2');
  for (const k of ['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir']) assert.equal(typeof c.GraphDriver.Data[k], 'string', k);
  assert.ok(c.GraphDriver.Data.MergedDir.startsWith(d.dataRoot), c.GraphDriver.Data.MergedDir);
  assert.ok(await exists(join(c.GraphDriver.Data.MergedDir, 'big')), 'the running container\'s root is mounted at MergedDir');
  assert.ok(await exists(join(c.GraphDriver.Data.UpperDir, 'big')), 'its writes are in UpperDir');
  assert.equal(c.State.Status, 'running');
  assert.equal(typeof c.State.Pid, 'number');
  assert.ok(c.State.Pid > 0);
  assert.equal(c.Name, '/ps-run');
  assert.equal(c.Path, 'sleep');
  assert.deepEqual(c.Args, ['300']);
  assert.equal(c.RestartCount, 0);
  assert.equal(c.Driver, 'overlay2');
  assert.equal(c.LogPath, join(d.dataRoot, 'containers', c.Id, `${c.Id}-json.log`));
  assert.deepEqual(c.Config.Labels, { role: 'web' });
  assert.deepEqual(c.Config.ExposedPorts, { '8080/tcp': {} });
  assert.equal(c.HostConfig.NetworkMode, 'none');
  assert.deepEqual(c.Mounts, []);
});

test('docker stats --no-stream shows a running container with its memory limit', async () => {
  await ok(['run', '-d', '--name', 'st', ...NET, '-m', '64m', 'busybox', 'sleep', '300']);
  const out = (await ok(['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}', 'st'])).trim();
  const [name, mem, pids, cpu] = out.split('|');
  assert.equal(name, 'st');
  assert.match(mem!, /^\d+(\.\d+)?(B|KiB|MiB) \/ 64MiB$/);
  assert.equal(pids, '1');
  assert.match(cpu!, /^\d+\.\d\d%$/);
  const table = await ok(['stats', '--no-stream']);
  assert.match(table, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
  assert.match(table, /\bst\b.*64MiB/);
  await ok(['rm', '-f', 'st']);
});

test('docker top: default columns, -o pid,comm, a stopped container is refused', async () => {
  const out = (await ok(['top', 'ps-run'])).trim().split('\n');
  assert.deepEqual(out[0]!.trim().split(/\s+/), ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.equal(out.length, 2, out.join('\n'));
  const pid = (await inspect('ps-run')).State.Pid;
  assert.match(out[1]!, new RegExp(`^root\\s+${pid}\\s+\\d+\\s.*sleep 300$`));
  const custom = (await ok(['top', 'ps-run', '-o', 'pid,comm'])).trim().split('\n');
  assert.deepEqual(custom[0]!.trim().split(/\s+/), ['PID', 'COMMAND']);
  assert.deepEqual(custom[1]!.trim().split(/\s+/), [String(pid), 'sleep']);
  // An exec shows up while it runs.
  const exec = d.docker(['exec', 'ps-run', 'sleep', '2']);
  let seen = false;
  for (let i = 0; i < 30 && !seen; i++) {
    seen = (await ok(['top', 'ps-run'])).includes('sleep 2');
    if (!seen) await sleep(50);
  }
  assert.ok(seen, 'the exec\'s process is listed');
  await exec;
  const stopped = await d.docker(['top', 'ps-exit3']);
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /Container [0-9a-f]{64} is not running/);
});

test('docker wait prints the exit code; waits for a running container', async () => {
  await ok(['run', '-d', '--name', 'wt', ...NET, 'busybox', 'sh', '-c', 'sleep 0.5; exit 5']);
  assert.equal((await ok(['wait', 'wt'])).trim(), '5');
  assert.equal((await ok(['wait', 'wt', 'ps-exit3'])).trim(), '5\n3');
  const missing = await d.docker(['wait', 'no-such']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such container: no-such/);
  await ok(['rm', 'wt']);
});

test('docker container prune: stopped ones only, with a label filter', async () => {
  await ok(['run', '--name', 'pr-a', ...NET, '--label', 'prune=yes', 'busybox', 'true']);
  await ok(['run', '--name', 'pr-b', ...NET, '--label', 'prune=no', 'busybox', 'true']);
  await ok(['run', '-d', '--name', 'pr-c', ...NET, '--label', 'prune=yes', 'busybox', 'sleep', '300']);
  const a = (await inspect('pr-a')).Id;
  const out = await ok(['container', 'prune', '-f', '--filter', 'label=prune=yes']);
  assert.match(out, new RegExp(`^Deleted Containers:\\n${a}\\n`));
  assert.match(out, /Total reclaimed space: /);
  assert.ok(!out.includes((await inspect('pr-c')).Id), 'a running container is not pruned');
  assert.equal((await d.docker(['inspect', 'pr-a'])).code, 1);
  await inspect('pr-b');
  await inspect('pr-c');
  // label!= with the API: the stopped prune=no one goes, the running one stays.
  const b = (await inspect('pr-b')).Id;
  const api = await d.request('POST', `/v1.41/containers/prune?filters=${encodeURIComponent(JSON.stringify({ 'label!': { 'prune=yes': true }, label: { prune: true } }))}`);
  assert.equal(api.status, 200, api.body);
  assert.deepEqual(api.json().ContainersDeleted, [b]);
  assert.equal((await d.docker(['inspect', 'pr-b'])).code, 1);
  await inspect('pr-c');
  assert.equal(typeof api.json().SpaceReclaimed, 'number');
  const ev = await ok(['events', '--since', String(Math.floor(started.getTime() / 1000)), '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'type=container', '--filter', 'event=prune', '--format', '{{.Type}} {{.Action}}']);
  assert.match(ev, /^container prune$/m);
  await ok(['rm', '-f', 'pr-c']);
});

test('events: create, start, rename, top, update, pause, unpause, commit, kill, die, destroy in order', async () => {
  const since = String(Math.floor(Date.now() / 1000));
  const id = (await ok(['create', '--name', 'ev-1', ...NET, 'busybox', 'sleep', '300'])).trim();
  await ok(['start', 'ev-1']);
  await ok(['rename', 'ev-1', 'ev-2']);
  await ok(['top', 'ev-2']);
  await ok(['update', '--pids-limit', '20', 'ev-2']);
  await ok(['pause', 'ev-2']);
  await ok(['unpause', 'ev-2']);
  await ok(['commit', '--pause=false', 'ev-2', 'ev-image:1']);
  await ok(['kill', 'ev-2']);
  await ok(['wait', 'ev-2']);
  await ok(['rm', 'ev-2']);
  const until = String(Math.ceil(Date.now() / 1000) + 1);
  const out = await ok(['events', '--since', since, '--until', until, '--filter', `container=${id}`,
    '--format', '{{.Type}}|{{.Action}}|{{.Actor.ID}}|{{json .Actor.Attributes}}']);
  const events = out.trim().split('\n').map((l) => {
    const [type, action, actor, attrs] = l.split('|');
    return { type, action, actor, attrs: JSON.parse(attrs!) as Record<string, string> };
  });
  for (const e of events) {
    assert.equal(e.type, 'container');
    assert.equal(e.actor, id);
  }
  const wanted = ['create', 'start', 'rename', 'top', 'update', 'pause', 'unpause', 'commit', 'kill', 'die', 'destroy'];
  assert.deepEqual(events.map((e) => e.action).filter((a) => wanted.includes(a!)), wanted, out);
  const by = (a: string) => events.find((e) => e.action === a)!.attrs;
  assert.equal(by('create').name, 'ev-1');
  assert.equal(by('create').image, 'busybox');
  assert.equal(by('rename').name, 'ev-2');
  assert.equal(by('rename').oldName, '/ev-1');
  assert.equal(by('kill').signal, '9');
  assert.equal(by('die').exitCode, '137');
  assert.equal(by('destroy').name, 'ev-2');
  // The container filter also takes the name; a time window with nothing in it is empty.
  const byName = await ok(['events', '--since', since, '--until', until, '--filter', 'container=ev-2', '--filter', 'event=destroy', '--format', '{{.Action}}']);
  assert.equal(byName.trim(), 'destroy');
  const empty = await ok(['events', '--since', '1', '--until', '2', '--filter', `container=${id}`]);
  assert.equal(empty, '');
  await ok(['rmi', 'ev-image:1']);
});
