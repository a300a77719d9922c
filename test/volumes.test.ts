import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, run, TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';

/**
 * Issue 6, volumes and mounts with the real docker CLI: named and anonymous volumes, copy-up,
 * binds, tmpfs, --volumes-from, reference counting, prune, the API's errors, and no mount
 * left behind.
 */

let d: TestDaemon;
let work: string;
const started = new Date();

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-vol-'));
});

after(async () => {
  const r = await d.docker(['volume', 'ls', '-q']);
  const problems = await removeAllAndFindLeaks(d, started);
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
  assert.equal(r.code, 0);
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await d.docker(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr.trim();
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(dir));
}

test('docker volume create, inspect, ls with filters, rm; dockerd name rules and option checks', async () => {
  assert.equal((await ok(['volume', 'create', '--label', 'team=a', '--label', 'x', 'vol-one'])).trim(), 'vol-one');
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'vol-one']));
  assert.equal(v.Name, 'vol-one');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.deepEqual(v.Labels, { team: 'a', x: '' });
  // The CLI sends no DriverOpts when none are given; what a client sends comes back.
  assert.equal(v.Options, null);
  const raw = await d.request('POST', '/volumes/create', { body: { Name: 'vol-raw', DriverOpts: {}, Labels: { k: 'v' } } });
  assert.equal(raw.status, 201);
  assert.deepEqual(raw.json().Options, {});
  assert.deepEqual(raw.json().Labels, { k: 'v' });
  assert.equal((await d.request('DELETE', '/volumes/vol-raw')).status, 204);
  assert.equal(v.Mountpoint, join(d.dataRoot, 'volumes', 'vol-one', '_data'));
  assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok((await stat(v.Mountpoint)).isDirectory());
  // A second create of the same name answers with the existing volume.
  assert.equal((await ok(['volume', 'create', 'vol-one'])).trim(), 'vol-one');
  await ok(['volume', 'create', 'vol-two']);

  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'label=team=a'])).trim().split('\n'), ['vol-one']);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'name=two'])).trim().split('\n'), ['vol-two']);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'driver=local', '--filter', 'name=vol-'])).trim().split('\n').sort(), ['vol-one', 'vol-two']);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'dangling=true', '--filter', 'name=vol-'])).trim().split('\n').sort(), ['vol-one', 'vol-two']);
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'dangling=false', '--filter', 'name=vol-'])).trim(), '');
  assert.match(await fails(['volume', 'ls', '--filter', 'bogus=1']), /invalid filter 'bogus'/i);

  assert.equal(await fails(['volume', 'create', 'a']),
    'Error response from daemon: create a: volume name is too short, names should be at least two alphanumeric characters');
  assert.equal(await fails(['volume', 'create', 'a:b']),
    'Error response from daemon: create a:b: "a:b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
  assert.equal(await fails(['volume', 'create', '-o', 'bogus=1', 'vol-bad']), 'Error response from daemon: create vol-bad: invalid option: "bogus"');
  assert.equal(await fails(['volume', 'create', '-o', 'type=tmpfs', 'vol-bad']), 'Error response from daemon: create vol-bad: missing required option: "device"');
  assert.equal(await fails(['volume', 'create', '-d', 'nosuchdriver', 'vol-bad']),
    'Error response from daemon: create vol-bad: error looking up volume plugin nosuchdriver: plugin "nosuchdriver" not found');
  assert.equal(await exists(join(d.dataRoot, 'volumes', 'vol-bad')), false);
  assert.equal(await fails(['volume', 'inspect', 'nope']), 'Error response from daemon: get nope: no such volume');

  const api = await d.request('GET', '/volumes/nope');
  assert.equal(api.status, 404);
  assert.equal(api.json().message, 'get nope: no such volume');
  const bad = await d.request('POST', '/volumes/create', { body: { Name: 5 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json().message, 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Name of type string');

  assert.equal((await ok(['volume', 'rm', 'vol-one', 'vol-two'])).trim(), 'vol-one\nvol-two');
  assert.equal(await exists(join(d.dataRoot, 'volumes', 'vol-one')), false);
  assert.equal((await d.request('DELETE', '/volumes/nope')).status, 404);
  assert.equal((await d.request('DELETE', '/volumes/nope?force=1')).status, 204);
});

test('a named volume carries data from one container to the next; in use it cannot be removed (409)', async () => {
  await ok(['run', '--name', 'writer', '--network', 'none', '-v', 'shared-data:/data', 'busybox', 'sh', '-c', 'echo written-once > /data/msg']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'shared-data:/in:ro', 'busybox', 'cat', '/in/msg']), 'written-once\n');
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'shared-data']));
  assert.equal(await readFile(join(v.Mountpoint, 'msg'), 'utf8'), 'written-once\n');
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'writer'])).trim();
  assert.equal(await fails(['volume', 'rm', 'shared-data']),
    `Error response from daemon: remove shared-data: volume is in use - [${id}]`);
  const api = await d.request('DELETE', '/volumes/shared-data?force=1');
  assert.equal(api.status, 409);
  // inspect's Mounts as dockerd fills them for a named volume given with -v.
  const [c] = JSON.parse(await ok(['inspect', 'writer']));
  assert.deepEqual(c.Mounts, [{
    Type: 'volume', Name: 'shared-data', Source: v.Mountpoint, Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '',
  }]);
  assert.equal((await ok(['ps', '-a', '-q', '--filter', 'volume=shared-data'])).trim(), id.slice(0, 12));
  // rm -v keeps a named volume.
  await ok(['rm', '-v', 'writer']);
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'name=shared-data'])).trim(), 'shared-data');
  await ok(['volume', 'rm', 'shared-data']);
});

test('copy-up: an image VOLUME becomes an anonymous volume holding the image content with owners and modes; rm -v and --rm remove it', async () => {
  await ok(['run', '--name', 'prep', '--network', 'none', 'busybox', 'sh', '-c',
    'mkdir -p /data/sub && echo image-content > /data/f && ln -s f /data/link && chown -R 1234:5678 /data && chmod 750 /data && chmod 640 /data/f && chmod 1777 /data/sub && chown 42:43 /data/sub']);
  await ok(['commit', '--change', 'VOLUME /data', 'prep', 'voltest:copy']);
  await ok(['rm', 'prep']);
  const out = await ok(['run', '--name', 'copied', '--network', 'none', 'voltest:copy', 'sh', '-c',
    'stat -c "%n %u:%g %a" /data /data/f /data/sub && readlink /data/link && cat /data/f']);
  assert.equal(out, '/data 1234:5678 750\n/data/f 1234:5678 640\n/data/sub 42:43 1777\nf\nimage-content\n');
  const [c] = JSON.parse(await ok(['inspect', 'copied']));
  assert.equal(c.Mounts.length, 1);
  const m = c.Mounts[0];
  assert.equal(m.Type, 'volume');
  assert.match(m.Name, /^[0-9a-f]{64}$/);
  assert.deepEqual({ ...m, Name: '' }, {
    Type: 'volume', Name: '', Source: join(d.dataRoot, 'volumes', m.Name, '_data'), Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '',
  });
  const st = await stat(join(m.Source, 'f'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 5678, 0o640]);
  // The same container started again does not copy over what it changed.
  await ok(['start', '-a', 'copied']);
  // nocopy: a named volume given with :nocopy stays empty.
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'empty-vol:/data:nocopy', 'voltest:copy', 'ls', '-A', '/data']), '');
  // A named empty volume gets the image's content too, and rm -v leaves it.
  assert.equal(await ok(['run', '--name', 'named-copy', '--network', 'none', '-v', 'filled-vol:/data', 'voltest:copy', 'cat', '/data/f']), 'image-content\n');
  await ok(['rm', '-v', 'named-copy', 'copied']);
  assert.equal(await exists(join(d.dataRoot, 'volumes', m.Name)), false, 'rm -v removes the anonymous volume');
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'name=-vol'])).trim().split('\n').sort(), ['empty-vol', 'filled-vol']);
  // --rm removes the anonymous volumes (of the image and of -v /path), not named ones.
  const before = (await ok(['volume', 'ls', '-q'])).trim();
  await ok(['run', '--rm', '--network', 'none', '-v', '/extra', '-v', 'filled-vol:/named', 'voltest:copy', 'ls', '/extra', '/data']);
  assert.equal((await ok(['volume', 'ls', '-q'])).trim(), before);
  // Without -v, rm leaves the anonymous volume behind, dangling.
  await ok(['run', '--name', 'keeps', '--network', 'none', 'voltest:copy', 'true']);
  const [k] = JSON.parse(await ok(['inspect', 'keeps']));
  await ok(['rm', 'keeps']);
  assert.ok((await ok(['volume', 'ls', '-q', '--filter', 'dangling=true'])).split('\n').includes(k.Mounts[0].Name));
  await ok(['volume', 'rm', k.Mounts[0].Name, 'empty-vol', 'filled-vol']);
  // A data container that never runs fills its volumes at create (dockerd's populateVolumes),
  // so --volumes-from sees the image's content.
  await ok(['create', '--name', 'dataonly', 'voltest:copy', 'true']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '--volumes-from', 'dataonly', 'busybox', 'sh', '-c', 'stat -c "%u:%g %a" /data && cat /data/f']),
    '1234:5678 750\nimage-content\n');
  await ok(['rm', '-v', 'dataonly']);
  // An image VOLUME over a file of the image is refused, and leaves no volume behind.
  const before2 = (await ok(['volume', 'ls', '-q'])).trim();
  const over = await d.request('POST', '/containers/create', { body: { Image: 'voltest:copy', Volumes: { '/data/f': {} } } });
  assert.equal(over.status, 500);
  assert.match(over.json().message, /^cannot mount volume over existing file, file exists \/.*\/data\/f$/);
  assert.equal((await ok(['volume', 'ls', '-q'])).trim(), before2);
  await ok(['rmi', 'voltest:copy']);
});

test('bind mounts both ways, :ro enforced, missing -v source created, --mount bind source must exist', async () => {
  const host = join(work, 'bind');
  await mkdir(host);
  await writeFile(join(host, 'from-host'), 'host says hi\n');
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', `${host}:/b`, 'busybox', 'sh', '-c', 'cat /b/from-host && echo back > /b/from-container']), 'host says hi\n');
  assert.equal(await readFile(join(host, 'from-container'), 'utf8'), 'back\n');
  const ro = await d.docker(['run', '--rm', '--network', 'none', '-v', `${host}:/b:ro`, 'busybox', 'sh', '-c', 'echo x > /b/nope']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(await exists(join(host, 'nope')), false);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '--mount', `type=bind,source=${host},target=/m,readonly`, 'busybox', 'cat', '/m/from-host']), 'host says hi\n');

  const missing = join(work, 'made', 'by', 'daemon');
  await ok(['run', '--name', 'bind-insp', '--network', 'none', '-v', `${missing}:/x:ro`, 'busybox', 'true']);
  assert.ok((await stat(missing)).isDirectory());
  const [c] = JSON.parse(await ok(['inspect', 'bind-insp']));
  assert.deepEqual(c.Mounts, [{ Type: 'bind', Source: missing, Destination: '/x', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
  await ok(['rm', 'bind-insp']);

  assert.equal(await fails(['run', '--rm', '--mount', `type=bind,source=${join(work, 'absent')},target=/x`, 'busybox', 'true']),
    `docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${join(work, 'absent')}\n\nRun 'docker run --help' for more information`);
});

test('--volumes-from takes a container\'s volumes and binds; :ro makes them read-only', async () => {
  const host = join(work, 'vf');
  await mkdir(host);
  await ok(['create', '--name', 'vf-src', '--network', 'none', '-v', 'vf-named:/named', '-v', `${host}:/hostdir`, '-v', '/anon', 'busybox', 'true']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '--volumes-from', 'vf-src', 'busybox', 'sh', '-c',
    'echo n > /named/f && echo h > /hostdir/f && echo a > /anon/f && cat /named/f /hostdir/f /anon/f']), 'n\nh\na\n');
  const r = await d.docker(['run', '--rm', '--network', 'none', '--volumes-from', 'vf-src:ro', 'busybox', 'sh', '-c',
    'cat /named/f /hostdir/f /anon/f; echo x > /named/g || echo x > /hostdir/g || echo x > /anon/g || echo all-refused']);
  assert.equal(r.stdout, 'n\nh\na\nall-refused\n');
  assert.match(r.stderr, /Read-only file system/);
  assert.equal(await exists(join(host, 'g')), false);
  // The borrowing container refers to the volumes too.
  await ok(['create', '--name', 'vf-user', '--volumes-from', 'vf-src:ro', 'busybox', 'true']);
  const [u] = JSON.parse(await ok(['inspect', 'vf-user']));
  assert.deepEqual(u.Mounts.map((m: { Destination: string; RW: boolean }) => [m.Destination, m.RW]).sort(), [['/anon', false], ['/hostdir', false], ['/named', false]]);
  await ok(['rm', '-v', 'vf-src']);
  const anon = u.Mounts.find((m: { Destination: string }) => m.Destination === '/anon').Name;
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', `name=${anon}`])).trim(), anon, 'still used by vf-user');
  assert.match(await fails(['volume', 'rm', 'vf-named']), /volume is in use/);
  await ok(['rm', 'vf-user']);
  await ok(['volume', 'rm', 'vf-named', anon]);

  // A bind at the same destination replaces what --volumes-from brought, reference and all.
  await ok(['create', '--name', 'vf2-src', '-v', 'vf2-named:/n', 'busybox', 'true']);
  await ok(['create', '--name', 'vf2-user', '--volumes-from', 'vf2-src', '-v', `${host}:/n`, 'busybox', 'true']);
  await ok(['rm', 'vf2-src']);
  await ok(['volume', 'rm', 'vf2-named']);
  await ok(['rm', 'vf2-user']);

  assert.equal(await fails(['create', '--volumes-from', 'no-such-container', 'busybox']), 'Error response from daemon: No such container: no-such-container');
  assert.equal(await fails(['create', '--volumes-from', 'vf-user:rshared', 'busybox']), 'Error response from daemon: invalid mode: rshared');
});

test('tmpfs: --tmpfs with size and mode, --mount type=tmpfs, and a local volume of type tmpfs mounted only while used', async () => {
  const out = await ok(['run', '--rm', '--network', 'none', '--tmpfs', '/t1:size=1m,mode=1770', '--mount', 'type=tmpfs,target=/t2,tmpfs-size=2097152,tmpfs-mode=0700',
    'busybox', 'sh', '-c', 'grep -E " /t[12] " /proc/mounts; stat -c "%a" /t1 /t2; head -c 1500000 /dev/zero > /t1/big 2>/dev/null && echo fits || echo too-big']);
  const lines = out.split('\n');
  assert.match(lines[0]!, /^tmpfs \/t1 tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770/);
  assert.match(lines[1]!, /^tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=700/);
  assert.deepEqual(lines.slice(2), ['1770', '700', 'too-big', '']);

  await ok(['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=3m,uid=1000', 'tmpfs-vol']);
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'tmpfs-vol']));
  assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=3m,uid=1000' });
  assert.deepEqual(await mountsUnder(v.Mountpoint), [], 'not mounted before first use');
  await ok(['run', '-d', '--name', 'tv', '--network', 'none', '-v', 'tmpfs-vol:/v', 'busybox', 'sleep', '300']);
  const seen = await mountsUnder(v.Mountpoint);
  assert.equal(seen.length >= 1, true);
  assert.match(seen.join('\n'), /tmpfs .*size=3072k/);
  assert.equal(await ok(['exec', 'tv', 'stat', '-c', '%u', '/v']), '1000\n');
  await ok(['rm', '-f', 'tv']);
  assert.deepEqual(await mountsUnder(v.Mountpoint), [], 'unmounted when its last user stopped');
  await ok(['volume', 'rm', 'tmpfs-vol']);
});

test('mount errors as dockerd words them', async () => {
  const host = join(work, 'errs');
  await mkdir(host);
  const e = (msg: string) => `Error response from daemon: ${msg}`;
  assert.equal(await fails(['create', '-v', `${host}:/x`, '-v', 'some-vol:/x', 'busybox']), e('Duplicate mount point: /x'));
  assert.equal(await fails(['create', '-v', `${host}:/x`, '--mount', `type=bind,src=${host},dst=/x`, 'busybox']), e('Duplicate mount point: /x'));
  assert.equal(await fails(['create', '--tmpfs', '/x', '-v', `${host}:/x`, 'busybox']), e('Duplicate mount point: /x'));
  assert.equal(await fails(['create', '--mount', 'type=volume,target=relative', 'busybox']),
    e('invalid mount config for type "volume": invalid mount path: \'relative\' mount path must be absolute'));
  assert.equal(await fails(['create', '--mount', 'type=volume,target=/x,readonly', 'busybox']),
    e('invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes'));
  assert.equal(await fails(['create', '--mount', 'type=tmpfs,target=/', 'busybox']),
    e('invalid mount config for type "tmpfs": invalid specification: destination can\'t be \'/\''));
  // The CLI passes -v strings through; the daemon checks them.
  const raw = await d.request('POST', '/containers/create', { body: { Image: 'busybox', HostConfig: { Binds: [`${host}:/x:rw,ro`] } } });
  assert.equal(raw.status, 400);
  assert.equal(raw.json().message, 'invalid mode: rw,ro');
  const rel = await d.request('POST', '/containers/create', { body: { Image: 'busybox', HostConfig: { Binds: ['rel/path:/x'] } } });
  assert.equal(rel.status, 400);
  assert.match(rel.json().message, /^create rel\/path: "rel\/path" includes invalid characters for a local volume name/);
  for (const [mounts, msg] of [
    [[5], 'json: cannot unmarshal number into Go struct field HostConfig.Mounts of type mount.Mount'],
    [[{ Type: 'volume', Target: 7 }], 'json: cannot unmarshal number into Go struct field HostConfig.Mounts.Target of type string'],
    [[{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 'big' } }], 'json: cannot unmarshal string into Go struct field HostConfig.Mounts.TmpfsOptions.SizeBytes of type int64'],
  ] as const) {
    const r = await d.request('POST', '/containers/create', { body: { Image: 'busybox', HostConfig: { Mounts: mounts } } });
    assert.equal(r.status, 400);
    assert.equal(r.json().message, msg);
  }
  const tmp = await d.request('POST', '/containers/create', { body: { Image: 'busybox', HostConfig: { Tmpfs: { relative: '' } } } });
  assert.equal(tmp.status, 400);
  assert.match(tmp.json().message, /invalid mount path: 'relative' mount path must be absolute$/);
  // A 404 here makes the CLI try a pull (as with dockerd), so this one goes straight to the API.
  const drv = await d.request('POST', '/containers/create', { body: { Image: 'busybox', HostConfig: { VolumeDriver: 'nosuchdriver', Binds: ['drv-vol:/x'] } } });
  assert.equal(drv.status, 404);
  assert.equal(drv.json().message, 'create drv-vol: error looking up volume plugin nosuchdriver: plugin "nosuchdriver" not found');
  // A failed create leaves no container behind, and no reference: a named volume it made
  // stays, unused, as with dockerd.
  assert.match((await ok(['volume', 'ls', '-q', '--filter', 'dangling=false'])), /^$/);
  await d.docker(['volume', 'rm', 'some-vol']);
  assert.equal((await ok(['volume', 'ls', '-q'])).trim(), '');
  assert.equal((await ok(['ps', '-aq'])).trim(), '');
});

test('a bind-style local volume (type=none, o=bind, device=dir) shows the host directory while used', async () => {
  const host = join(work, 'bindvol');
  await mkdir(host);
  await writeFile(join(host, 'there'), 'on the host\n');
  await ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host}`, 'bind-vol']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'bind-vol:/v', 'busybox', 'sh', '-c', 'cat /v/there && echo from-container > /v/new']), 'on the host\n');
  assert.equal(await readFile(join(host, 'new'), 'utf8'), 'from-container\n');
  assert.deepEqual(await mountsUnder(join(d.dataRoot, 'volumes', 'bind-vol')), []);
  await ok(['volume', 'rm', 'bind-vol']);
  assert.equal(await readFile(join(host, 'there'), 'utf8'), 'on the host\n', 'removing the volume leaves the device alone');
});

test('prune removes every unused local volume without options (API 1.41), honours label filters; events', async () => {
  const since = Math.floor(Date.now() / 1000);
  await ok(['volume', 'create', 'pr-unused']);
  await ok(['volume', 'create', '--label', 'keep=yes', 'pr-labeled']);
  await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'pr-opts']);
  await ok(['run', '--name', 'pr-user', '--network', 'none', '-v', 'pr-used:/u', '-v', 'pr-unused:/w', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /w/blob']);
  await ok(['rm', 'pr-user']);
  await ok(['create', '--name', 'pr-holder', '-v', 'pr-used:/u', 'busybox', 'true']);

  const bad = await d.request('POST', '/volumes/prune?filters=' + encodeURIComponent(JSON.stringify({ dangling: ['true'] })));
  assert.equal(bad.status, 400);
  const r1 = await d.request('POST', '/volumes/prune?filters=' + encodeURIComponent(JSON.stringify({ 'label!': ['keep=yes'] })));
  assert.equal(r1.status, 200);
  assert.deepEqual(r1.json(), { VolumesDeleted: ['pr-unused'], SpaceReclaimed: 5000 });
  assert.match(await ok(['volume', 'prune', '-f']), /Deleted Volumes:\npr-labeled\n/);
  assert.deepEqual((await ok(['volume', 'ls', '-q'])).trim().split('\n').sort(), ['pr-opts', 'pr-used']);
  await ok(['rm', 'pr-holder']);
  await ok(['volume', 'rm', 'pr-opts', 'pr-used']);

  const ev = await ok(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=volume',
    '--format', '{{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "driver"}} {{index .Actor.Attributes "destination"}}']);
  const lines = ev.trim().split('\n');
  for (const want of ['create pr-unused local', 'mount pr-used local /u', 'unmount pr-used local', 'destroy pr-unused local', 'destroy pr-used local']) {
    assert.ok(lines.some((l) => l.trim() === want), `event "${want}" in:\n${ev}`);
  }
  assert.ok(lines.some((l) => l.startsWith('prune ')));
});

test('volumes, labels and references survive a restart of berthd', async () => {
  await ok(['volume', 'create', '--label', 'a=b', 'persist-vol']);
  await ok(['run', '--name', 'pc', '--network', 'none', '-v', 'persist-vol:/p', '-v', '/anon', 'busybox', 'sh', '-c', 'echo kept > /p/f']);
  const [before] = JSON.parse(await ok(['volume', 'inspect', 'persist-vol']));
  const [c] = JSON.parse(await ok(['inspect', 'pc']));
  const anon = c.Mounts.find((m: { Destination: string }) => m.Destination === '/anon').Name;

  assert.equal(await d.stop(), 0);
  d = await TestDaemon.start({ dir: d.dir });

  const [after] = JSON.parse(await ok(['volume', 'inspect', 'persist-vol']));
  assert.deepEqual(after, before);
  assert.equal(await fails(['volume', 'rm', 'persist-vol']), `Error response from daemon: remove persist-vol: volume is in use - [${c.Id}]`);
  assert.match(await fails(['volume', 'rm', anon]), /volume is in use/);
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'dangling=true'])).trim(), '');
  assert.equal((await d.request('POST', '/volumes/prune')).json().VolumesDeleted.length, 0);
  assert.equal(await ok(['start', '-a', 'pc']), '');
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'persist-vol:/p', 'busybox', 'cat', '/p/f']), 'kept\n');
  await ok(['rm', '-v', 'pc']);
  assert.deepEqual((await ok(['volume', 'ls', '-q'])).trim(), 'persist-vol');
  await ok(['volume', 'rm', 'persist-vol']);
  // Nothing stays mounted but the network namespaces the daemon keeps made ahead for bridge starts.
  assert.deepEqual((await mountsUnder(d.dir)).filter((l) => !l.includes(join(d.execRoot, 'netns-pool'))), []);
});

test('bind propagation: rslave by default inside the data root, other modes refused there; shared binds need a shared source', async () => {
  const [c] = JSON.parse(await ok(['create', '--name', 'in-root', '-v', `${d.dataRoot}/volumes:/dr`, 'busybox', 'true']).then(async () => ok(['inspect', 'in-root'])));
  assert.equal(c.Mounts[0].Propagation, 'rslave');
  assert.equal(await ok(['start', '-a', 'in-root']), '');
  await ok(['rm', 'in-root']);
  assert.equal(await fails(['create', '-v', `${d.dataRoot}:/dr:private`, 'busybox']),
    `Error response from daemon: invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: "${d.dataRoot}", bind mount source: "${d.dataRoot}", propagation: "private"`);

  const dir = join(work, 'prop');
  await mkdir(dir);
  const refused = await d.docker(['run', '--rm', '--network', 'none', '--mount', `type=bind,src=${dir},dst=/x,bind-propagation=rshared`, 'busybox', 'true']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`path ${dir} is mounted on /\\S* but it is not a shared mount`));
  // Made a shared mount of its own, the same directory can be bound rshared and rslave.
  assert.equal((await run('mount', ['--bind', dir, dir])).code, 0);
  try {
    assert.equal((await run('mount', ['--make-shared', dir])).code, 0);
    const out = await ok(['run', '--rm', '--network', 'none', '-v', `${dir}:/x:rshared`, '-v', `${dir}:/y:rslave`, 'busybox', 'sh', '-c', 'grep -E " /(x|y) " /proc/self/mountinfo']);
    assert.match(out, / \/x .* shared:/);
    assert.match(out, / \/y .* master:/);
  } finally {
    await run('umount', [dir]);
  }
});
