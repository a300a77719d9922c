import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, TestDaemon } from './harness.js';
import { dockerOk, removeAllAndFindLeaks, sleep, startWithBusybox, useBusyboxDaemon } from './container-fixture.js';

/**
 * Issue 4, `docker cp` through what dockerd 20.10 mounts over a container's root for an
 * archive operation (daemon.mountVolumes): the network files /etc/hosts, /etc/hostname and
 * /etc/resolv.conf from the container's directory, file and directory binds, volumes inside
 * a copied directory; tmpfs mounts are not among them. Each behaviour here was checked
 * against Debian's dockerd 20.10.24 with the same CLI. After every copy, nothing the copy
 * mounted is left (the daemon's exec root has no archive mount, a stopped container's root
 * is not mounted).
 */

let d: TestDaemon;
let work: string;
useBusyboxDaemon((x) => { d = x; });

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bt-cp-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

const ok = (args: string[]) => dockerOk(d, args);

/** Mount points under the daemon's archive directory (the copies' private mounts). */
async function copyMounts(of: TestDaemon = d): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((l) => l.includes(join(of.execRoot, 'archive')));
}

/** A GET of the archive whose body is left unread: the daemon's stream stalls with its mounts in place. */
async function stalledGet(of: TestDaemon, container: string, path: string): Promise<http.ClientRequest> {
  const req = http.request({ socketPath: of.socket, method: 'GET', path: `/containers/${container}/archive?path=${encodeURIComponent(path)}` });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.statusCode, 200);
  res.pause();
  req.on('error', () => {});
  return req;
}

/** Runs `cmd` in a container until it succeeds (a file the container writes is there). */
async function waitFor(of: TestDaemon, container: string, cmd: string[]): Promise<void> {
  for (let i = 0; i < 600 && (await of.docker(['exec', container, ...cmd])).code !== 0; i++) await sleep(100);
}

async function mounted(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === path);
}

async function noCopyMountsLeft(): Promise<void> {
  assert.deepEqual(await copyMounts(), [], 'a copy left a mount behind');
}

async function dir(name: string): Promise<string> {
  const p = join(work, name);
  await mkdir(p, { recursive: true });
  return p;
}

test('docker cp out of /etc/hosts, /etc/hostname, /etc/resolv.conf: the daemon\'s files with the container\'s own entries', async () => {
  const id = (await ok(['run', '-d', '--name', 'cp-net', 'busybox', 'sleep', '300'])).trim();
  const ip = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'cp-net'])).trim();
  assert.match(ip, /^10\.213\./);
  const out = await dir('net');
  await ok(['cp', 'cp-net:/etc/hosts', join(out, 'hosts')]);
  const hosts = await readFile(join(out, 'hosts'), 'utf8');
  assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\t${id.slice(0, 12)}$`, 'm'));
  assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
  await ok(['cp', 'cp-net:/etc/hostname', join(out, 'hostname')]);
  assert.equal(await readFile(join(out, 'hostname'), 'utf8'), `${id.slice(0, 12)}\n`);
  await ok(['cp', 'cp-net:/etc/resolv.conf', join(out, 'resolv.conf')]);
  const resolvPath = (await ok(['inspect', '-f', '{{.ResolvConfPath}}', 'cp-net'])).trim();
  assert.equal(await readFile(join(out, 'resolv.conf'), 'utf8'), await readFile(resolvPath, 'utf8'));
  // What the container itself reads is the same file.
  assert.equal(await ok(['exec', 'cp-net', 'cat', '/etc/hosts']), hosts);

  // The directory holding them, and the whole root ("/" entries, as dockerd names them).
  await ok(['cp', 'cp-net:/etc', join(out, 'etc-copy')]);
  assert.equal(await readFile(join(out, 'etc-copy', 'hosts'), 'utf8'), hosts);
  assert.equal(await readFile(join(out, 'etc-copy', 'hostname'), 'utf8'), `${id.slice(0, 12)}\n`);
  assert.ok((await readdir(join(out, 'etc-copy'))).includes('passwd'));
  await ok(['cp', 'cp-net:/', join(out, 'root')]);
  assert.equal(await readFile(join(out, 'root', 'etc', 'hosts'), 'utf8'), hosts);
  assert.ok(await exists(join(out, 'root', 'bin', 'busybox')));
  const head = await d.request('HEAD', `/containers/cp-net/archive?path=/etc/hosts`);
  assert.equal(head.status, 200);
  const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString());
  assert.equal(stat.name, 'hosts');
  assert.equal(stat.size, Buffer.byteLength(hosts));
  await noCopyMountsLeft();

  // Stopped: the same files, and the root is not left mounted after the copy.
  await ok(['stop', '-t', '0', 'cp-net']);
  const merged = (await ok(['inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', 'cp-net'])).trim();
  await ok(['cp', 'cp-net:/etc/hosts', join(out, 'hosts-stopped')]);
  assert.equal(await readFile(join(out, 'hosts-stopped'), 'utf8'), hosts);
  await ok(['cp', 'cp-net:/etc/hostname', join(out, 'hostname-stopped')]);
  assert.equal(await readFile(join(out, 'hostname-stopped'), 'utf8'), `${id.slice(0, 12)}\n`);
  assert.equal(await mounted(merged), false, 'the stopped container\'s root stayed mounted');
  await noCopyMountsLeft();
  await ok(['rm', 'cp-net']);
});

test('docker cp with --network host and container:<name>: the files that container was given', async () => {
  await ok(['run', '-d', '--name', 'cp-hostnet', '--network', 'host', 'busybox', 'sleep', '300']);
  const out = await dir('hostnet');
  await ok(['cp', 'cp-hostnet:/etc/hosts', join(out, 'hosts')]);
  const hostsPath = (await ok(['inspect', '-f', '{{.HostsPath}}', 'cp-hostnet'])).trim();
  assert.equal(await readFile(join(out, 'hosts'), 'utf8'), await readFile(hostsPath, 'utf8'));
  assert.equal(await readFile(join(out, 'hosts'), 'utf8'), await ok(['exec', 'cp-hostnet', 'cat', '/etc/hosts']));
  await ok(['cp', 'cp-hostnet:/etc/hostname', join(out, 'hostname')]);
  assert.equal(await readFile(join(out, 'hostname'), 'utf8'), await ok(['exec', 'cp-hostnet', 'cat', '/etc/hostname']));

  const id = (await ok(['run', '-d', '--name', 'cp-owner', 'busybox', 'sleep', '300'])).trim();
  await ok(['run', '-d', '--name', 'cp-joiner', '--network', 'container:cp-owner', 'busybox', 'sleep', '300']);
  await ok(['cp', 'cp-joiner:/etc/hostname', join(out, 'joined-hostname')]);
  assert.equal(await readFile(join(out, 'joined-hostname'), 'utf8'), `${id.slice(0, 12)}\n`);
  await ok(['cp', 'cp-joiner:/etc/hosts', join(out, 'joined-hosts')]);
  assert.equal(await readFile(join(out, 'joined-hosts'), 'utf8'), await ok(['exec', 'cp-owner', 'cat', '/etc/hosts']));
  await noCopyMountsLeft();
  await ok(['rm', '-f', 'cp-joiner', 'cp-owner', 'cp-hostnet']);
});

test('docker cp into /etc/hosts: refused while the daemon\'s file is bound there (EBUSY, as dockerd); a never-started container takes it', async () => {
  await ok(['run', '-d', '--name', 'cp-etc', 'busybox', 'sleep', '300']);
  const before = await ok(['exec', 'cp-etc', 'cat', '/etc/hosts']);
  const src = await dir('etc-in');
  await writeFile(join(src, 'hosts'), '10.1.2.3\tfrom-cp\n');
  const r = await d.docker(['cp', join(src, 'hosts'), 'cp-etc:/etc/hosts']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error processing tar file\(exit status 1\): unlinkat \/etc\/hosts: device or resource busy/);
  // Into the directory, naming the file: the same refusal.
  const r2 = await d.docker(['cp', join(src, 'hosts'), 'cp-etc:/etc/']);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /unlinkat \/etc\/hosts: device or resource busy/);
  await writeFile(join(src, 'hostname'), 'renamed\n');
  const r3 = await d.docker(['cp', join(src, 'hostname'), 'cp-etc:/etc/hostname']);
  assert.match(r3.stderr, /unlinkat \/etc\/hostname: device or resource busy/);
  assert.equal(await ok(['exec', 'cp-etc', 'cat', '/etc/hosts']), before);
  // Other files of /etc are the root's: a copy there works.
  await ok(['cp', join(src, 'hosts'), 'cp-etc:/etc/hosts.extra']);
  assert.equal(await ok(['exec', 'cp-etc', 'cat', '/etc/hosts.extra']), '10.1.2.3\tfrom-cp\n');
  await noCopyMountsLeft();

  // Created, never started: no network file exists yet, the root's own /etc/hosts is written.
  await ok(['create', '--name', 'cp-etc-new', 'busybox', 'sleep', '300']);
  await ok(['cp', join(src, 'hosts'), 'cp-etc-new:/etc/hosts']);
  const out = await dir('etc-out');
  await ok(['cp', 'cp-etc-new:/etc/hosts', join(out, 'hosts')]);
  assert.equal(await readFile(join(out, 'hosts'), 'utf8'), '10.1.2.3\tfrom-cp\n');
  // Once started, the daemon's file is bound over it, and that is what a copy returns.
  await ok(['start', 'cp-etc-new']);
  await ok(['cp', 'cp-etc-new:/etc/hosts', join(out, 'hosts-started')]);
  const started = await readFile(join(out, 'hosts-started'), 'utf8');
  assert.doesNotMatch(started, /from-cp/);
  assert.equal(started, await ok(['exec', 'cp-etc-new', 'cat', '/etc/hosts']));
  await noCopyMountsLeft();
  await ok(['rm', '-f', 'cp-etc', 'cp-etc-new']);
});

test('docker cp through file binds: out reads the host file, in is refused as dockerd refuses it, :ro or not', async () => {
  const host = await dir('filebind');
  await writeFile(join(host, 'file.txt'), 'host file\n');
  await writeFile(join(host, 'ro.txt'), 'read-only host file\n');
  await mkdir(join(host, 'rodir'));
  await ok(['run', '-d', '--name', 'cp-filebind', '-v', `${join(host, 'file.txt')}:/data/file.txt`,
    '-v', `${join(host, 'ro.txt')}:/data/ro.txt:ro`, '-v', `${join(host, 'rodir')}:/data/rodir:ro`, 'busybox', 'sleep', '300']);
  const out = await dir('filebind-out');
  await ok(['cp', 'cp-filebind:/data/file.txt', join(out, 'file.txt')]);
  assert.equal(await readFile(join(out, 'file.txt'), 'utf8'), 'host file\n');
  // The host's file itself, not a copy made at start.
  await writeFile(join(host, 'file.txt'), 'changed on the host\n');
  await ok(['cp', 'cp-filebind:/data/file.txt', join(out, 'file2.txt')]);
  assert.equal(await readFile(join(out, 'file2.txt'), 'utf8'), 'changed on the host\n');
  await ok(['cp', 'cp-filebind:/data/ro.txt', join(out, 'ro.txt')]);
  assert.equal(await readFile(join(out, 'ro.txt'), 'utf8'), 'read-only host file\n');
  // The parent directory holds them.
  await ok(['cp', 'cp-filebind:/data', join(out, 'data')]);
  assert.deepEqual((await readdir(join(out, 'data'))).sort(), ['file.txt', 'ro.txt', 'rodir']);
  assert.equal(await readFile(join(out, 'data', 'file.txt'), 'utf8'), 'changed on the host\n');

  // In: the bound file is a mount point, which cannot be replaced (dockerd: EBUSY, :ro or not).
  const src = await dir('filebind-src');
  await writeFile(join(src, 'file.txt'), 'from cp\n');
  await writeFile(join(src, 'ro.txt'), 'from cp\n');
  const rw = await d.docker(['cp', join(src, 'file.txt'), 'cp-filebind:/data/file.txt']);
  assert.notEqual(rw.code, 0);
  assert.match(rw.stderr, /unlinkat \/data\/file\.txt: device or resource busy/);
  const ro = await d.docker(['cp', join(src, 'ro.txt'), 'cp-filebind:/data/ro.txt']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /unlinkat \/data\/ro\.txt: device or resource busy/);
  assert.equal(await readFile(join(host, 'file.txt'), 'utf8'), 'changed on the host\n');
  assert.equal(await readFile(join(host, 'ro.txt'), 'utf8'), 'read-only host file\n');
  // Into a read-only directory bind: named as the destination, dockerd's read-only refusal;
  // reached through its parent, the kernel's read-only file system.
  const roDest = await d.docker(['cp', join(src, 'file.txt'), 'cp-filebind:/data/rodir/']);
  assert.match(roDest.stderr, /mounted volume is marked read-only/);
  const rodir = await dir('filebind-src/rodir');
  await writeFile(join(rodir, 'new.txt'), 'new\n');
  const through = await d.docker(['cp', rodir, 'cp-filebind:/data/']);
  assert.notEqual(through.code, 0);
  assert.match(through.stderr, /Error processing tar file\(exit status 1\): lchown \/data\/rodir: read-only file system/);
  assert.deepEqual(await readdir(join(host, 'rodir')), []);
  await noCopyMountsLeft();

  // Stopped: the same.
  await ok(['stop', '-t', '0', 'cp-filebind']);
  await ok(['cp', 'cp-filebind:/data/file.txt', join(out, 'file3.txt')]);
  assert.equal(await readFile(join(out, 'file3.txt'), 'utf8'), 'changed on the host\n');
  const stopped = await d.docker(['cp', join(src, 'file.txt'), 'cp-filebind:/data/file.txt']);
  assert.match(stopped.stderr, /unlinkat \/data\/file\.txt: device or resource busy/);
  await noCopyMountsLeft();
  await ok(['rm', 'cp-filebind']);
});

test('docker cp of a directory holding volumes and binds includes their files; running, stopped, never started; symlinks stay in the container', async () => {
  const host = await dir('nested-bind');
  await writeFile(join(host, 'b.txt'), 'bound\n');
  await ok(['volume', 'create', 'cp-nested']);
  await ok(['run', '-d', '--name', 'cp-nested', '-v', 'cp-nested:/data/vol', '-v', `${host}:/data/bind`, '-v', '/anon',
    'busybox', 'sh', '-c', 'mkdir -p /data/own && echo own > /data/own/o.txt && echo vol > /data/vol/v.txt && echo anon > /anon/a.txt '
    + '&& ln -s /etc/hosts /data/vol/hostslink && ln -s / /data/vol/rootlink && sleep 300']);
  await ok(['exec', 'cp-nested', 'test', '-e', '/data/vol/rootlink']);
  const out = await dir('nested-out');
  const check = async (name: string) => {
    await ok(['cp', 'cp-nested:/data', join(out, name)]);
    assert.deepEqual((await readdir(join(out, name))).sort(), ['bind', 'own', 'vol']);
    assert.equal(await readFile(join(out, name, 'vol', 'v.txt'), 'utf8'), 'vol\n');
    assert.equal(await readFile(join(out, name, 'bind', 'b.txt'), 'utf8'), 'bound\n');
    assert.equal(await readFile(join(out, name, 'own', 'o.txt'), 'utf8'), 'own\n');
    await ok(['cp', 'cp-nested:/anon/.', join(out, `${name}-anon`)]);
    assert.equal(await readFile(join(out, `${name}-anon`, 'a.txt'), 'utf8'), 'anon\n');
    // A link in the volume to /etc/hosts is the container's /etc/hosts, not the host's.
    await ok(['cp', '-L', 'cp-nested:/data/vol/hostslink', join(out, `${name}-hosts`)]);
    assert.match(await readFile(join(out, `${name}-hosts`), 'utf8'), /^127\.0\.0\.1\tlocalhost$/m);
    assert.equal(await readFile(join(out, `${name}-hosts`), 'utf8'), await readFile((await ok(['inspect', '-f', '{{.HostsPath}}', 'cp-nested'])).trim(), 'utf8'));
  };
  await check('running');
  await ok(['cp', 'cp-nested:/', join(out, 'root')]);
  assert.equal(await readFile(join(out, 'root', 'data', 'vol', 'v.txt'), 'utf8'), 'vol\n');
  assert.equal(await readFile(join(out, 'root', 'anon', 'a.txt'), 'utf8'), 'anon\n');

  // In through a link in the volume to "/": lands in the container's /tmp, not the host's.
  const marker = `berth-cp-nested-${process.pid}-${Date.now()}`;
  await writeFile(join(work, marker), 'through the link\n');
  await ok(['cp', join(work, marker), 'cp-nested:/data/vol/rootlink/tmp/']);
  assert.equal(await exists(join('/tmp', marker)), false, 'docker cp wrote the host\'s /tmp');
  assert.equal(await ok(['exec', 'cp-nested', 'cat', `/tmp/${marker}`]), 'through the link\n');
  // Into the anonymous volume: the running container sees it there.
  await ok(['cp', join(work, marker), 'cp-nested:/anon/']);
  assert.equal(await ok(['exec', 'cp-nested', 'cat', `/anon/${marker}`]), 'through the link\n');
  await noCopyMountsLeft();

  await ok(['stop', '-t', '0', 'cp-nested']);
  await check('stopped');
  // A copy into a stopped container's volume goes into the volume, not the root under it.
  await ok(['cp', join(work, marker), 'cp-nested:/data/vol/']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'cp-nested:/v', 'busybox', 'cat', `/v/${marker}`]), 'through the link\n');
  await ok(['cp', join(work, marker), 'cp-nested:/anon/stopped.txt']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '--volumes-from', 'cp-nested', 'busybox', 'cat', '/anon/stopped.txt']), 'through the link\n');
  await noCopyMountsLeft();

  // Never started: the volume's content, the mount points made as dockerd makes them.
  await ok(['create', '--name', 'cp-nested-new', '-v', 'cp-nested:/x/vol', '-v', `${host}:/x/bind`, 'busybox']);
  await ok(['cp', 'cp-nested-new:/x', join(out, 'created')]);
  assert.deepEqual((await readdir(join(out, 'created'))).sort(), ['bind', 'vol']);
  assert.equal(await readFile(join(out, 'created', 'vol', 'v.txt'), 'utf8'), 'vol\n');
  assert.equal(await readFile(join(out, 'created', 'bind', 'b.txt'), 'utf8'), 'bound\n');
  await noCopyMountsLeft();
  await ok(['rm', '-v', 'cp-nested', 'cp-nested-new']);
  await ok(['volume', 'rm', 'cp-nested']);
});

test('docker cp with a user\'s file bound at /etc/hosts: that file, not the daemon\'s', async () => {
  const host = await dir('userhosts');
  await writeFile(join(host, 'hosts'), '10.9.8.7\tmine\n');
  await ok(['run', '-d', '--name', 'cp-userhosts', '-v', `${join(host, 'hosts')}:/etc/hosts:ro`, 'busybox', 'sleep', '300']);
  const out = await dir('userhosts-out');
  await ok(['cp', 'cp-userhosts:/etc/hosts', join(out, 'hosts')]);
  assert.equal(await readFile(join(out, 'hosts'), 'utf8'), '10.9.8.7\tmine\n');
  await ok(['cp', 'cp-userhosts:/etc', join(out, 'etc')]);
  assert.equal(await readFile(join(out, 'etc', 'hosts'), 'utf8'), '10.9.8.7\tmine\n');
  assert.match(await readFile(join(out, 'etc', 'hostname'), 'utf8'), /^[0-9a-f]{12}\n$/);
  await noCopyMountsLeft();
  await ok(['rm', '-f', 'cp-userhosts']);
});

test('docker cp and tmpfs mounts: as dockerd, a copy sees the directory under the tmpfs, not its content', async () => {
  await ok(['run', '-d', '--name', 'cp-tmpfs', '--tmpfs', '/scratch', '--mount', 'type=tmpfs,destination=/scratch2', 'busybox', 'sh', '-c',
    'echo in-tmpfs > /scratch/t.txt && echo in-tmpfs > /scratch2/t.txt && sleep 300']);
  await ok(['exec', 'cp-tmpfs', 'test', '-e', '/scratch2/t.txt']);
  const out = await dir('tmpfs-out');
  await ok(['cp', 'cp-tmpfs:/scratch', join(out, 'scratch')]);
  assert.deepEqual(await readdir(join(out, 'scratch')), []);
  await ok(['cp', 'cp-tmpfs:/scratch2', join(out, 'scratch2')]);
  assert.deepEqual(await readdir(join(out, 'scratch2')), []);
  const missing = await d.docker(['cp', 'cp-tmpfs:/scratch/t.txt', join(out, 't.txt')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Could not find the file \/scratch\/t\.txt in container cp-tmpfs/);
  // In: written under the tmpfs, where the container does not see it, and a copy out does.
  await writeFile(join(work, 'under.txt'), 'under the tmpfs\n');
  await ok(['cp', join(work, 'under.txt'), 'cp-tmpfs:/scratch/']);
  assert.equal(await ok(['exec', 'cp-tmpfs', 'ls', '/scratch']), 't.txt\n');
  await ok(['cp', 'cp-tmpfs:/scratch/under.txt', join(out, 'under.txt')]);
  assert.equal(await readFile(join(out, 'under.txt'), 'utf8'), 'under the tmpfs\n');
  await noCopyMountsLeft();
  await ok(['rm', '-f', 'cp-tmpfs']);
});

test('docker cp out, the client going away mid-stream: the running container never sees the copy\'s mounts, and they go', async () => {
  await ok(['volume', 'create', 'cp-abort']);
  await ok(['run', '-d', '--name', 'cp-abort', '-v', 'cp-abort:/data', 'busybox', 'sh', '-c',
    'dd if=/dev/zero of=/data/big bs=1048576 count=64 2>/dev/null && touch /data/done && sleep 300']);
  await waitFor(d, 'cp-abort', ['test', '-e', '/data/done']);
  const inside = await ok(['exec', 'cp-abort', 'cat', '/proc/self/mountinfo']);
  const req = await stalledGet(d, 'cp-abort', '/data/big');
  assert.ok((await copyMounts()).length > 0, 'the copy has its mounts while it streams');
  assert.equal(await ok(['exec', 'cp-abort', 'cat', '/proc/self/mountinfo']), inside, 'the container saw the copy\'s mounts');
  req.destroy();
  for (let i = 0; i < 100 && (await copyMounts()).length > 0; i++) await sleep(100);
  await noCopyMountsLeft();
  // A later copy works as ever.
  const out = await dir('abort-out');
  await ok(['cp', 'cp-abort:/data/done', join(out, 'done')]);
  await noCopyMountsLeft();
  await ok(['rm', '-f', 'cp-abort']);
  await ok(['volume', 'rm', 'cp-abort']);
});

test('a daemon killed during a copy: its next start detaches what the copy had mounted, and copies work', async () => {
  const since = new Date();
  let k = await startWithBusybox();
  try {
    await dockerOk(k, ['run', '-d', '--name', 'cp-killed', '-v', '/data', 'busybox', 'sh', '-c',
      'dd if=/dev/zero of=/data/big bs=1048576 count=64 2>/dev/null && touch /data/done && sleep 300']);
    await waitFor(k, 'cp-killed', ['test', '-e', '/data/done']);
    const req = await stalledGet(k, 'cp-killed', '/data/big');
    assert.ok((await copyMounts(k)).length > 0);
    await k.stop('SIGKILL');
    req.destroy();
    assert.ok((await copyMounts(k)).length > 0, 'the killed daemon\'s copy mounts are still there');
    k = await TestDaemon.start({ dir: k.dir });
    // Detached as the daemon starts, before any copy.
    for (let i = 0; i < 100 && (await copyMounts(k)).length > 0; i++) await sleep(100);
    assert.deepEqual(await copyMounts(k), [], 'the killed daemon\'s copy mounts were left');
    const out = await dir('killed-out');
    await dockerOk(k, ['run', '-d', '--name', 'cp-after', '-v', '/data', 'busybox', 'sh', '-c', 'echo after > /data/f && sleep 300']);
    await waitFor(k, 'cp-after', ['test', '-e', '/data/f']);
    await dockerOk(k, ['cp', 'cp-after:/data/f', join(out, 'f')]);
    assert.equal(await readFile(join(out, 'f'), 'utf8'), 'after\n');
    assert.deepEqual(await copyMounts(k), []);
  } finally {
    assert.deepEqual(await removeAllAndFindLeaks(k, since), []);
  }
});
