import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, run, type TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, sleep, startWithBusybox } from './container-fixture.js';

/**
 * Issue 4, moving data in and out of containers with the real docker CLI: `docker cp` both
 * ways (never following a container's symlink out to the host), the archive HEAD stat header,
 * `docker commit`, `docker export` and `docker diff`.
 */

let d: TestDaemon;
let work: string;
const started = new Date();

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-data-'));
});

after(async () => {
  const problems = await removeAllAndFindLeaks(d, started);
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await d.docker(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A container with symlinks that point out of its root if resolved on the host. */
const PREPARE = 'mkdir -p /data/sub /a/b/c && echo in-data > /data/one && echo deep > /data/sub/two '
  + '&& ln -s /etc /hostetc && ln -s ../../../../../../../../etc /a/b/c/up && ln -s /etc/passwd /pw';

test('docker cp into and out of a stopped (created) container: file, directory, dir/. contents', async () => {
  const name = 'cp-created';
  await ok(['create', '--name', name, '--network', 'none', 'busybox', 'cat', '/tmp/renamed.txt']);
  const src = join(work, 'srcdir');
  await mkdir(join(src, 'nested'), { recursive: true });
  await writeFile(join(src, 'a.txt'), 'alpha\n');
  await writeFile(join(src, 'nested', 'b.txt'), 'beta\n');
  await writeFile(join(work, 'file.txt'), 'from the host\n');

  // In: a file to a new name in an existing directory, a directory, and a directory's contents.
  await ok(['cp', join(work, 'file.txt'), `${name}:/tmp/renamed.txt`]);
  await ok(['cp', src, `${name}:/tmp/`]);
  await ok(['cp', `${src}/.`, `${name}:/root/`]);
  // Out again.
  const out = join(work, 'out-created');
  await mkdir(out);
  await ok(['cp', `${name}:/tmp/renamed.txt`, join(out, 'r.txt')]);
  assert.equal(await readFile(join(out, 'r.txt'), 'utf8'), 'from the host\n');
  await ok(['cp', `${name}:/tmp/srcdir`, out]);
  assert.equal(await readFile(join(out, 'srcdir', 'nested', 'b.txt'), 'utf8'), 'beta\n');
  await ok(['cp', `${name}:/root/.`, join(out, 'rootcontents')]);
  assert.deepEqual((await readdir(join(out, 'rootcontents'))).sort(), ['a.txt', 'nested']);
  assert.equal(await readFile(join(out, 'rootcontents', 'nested', 'b.txt'), 'utf8'), 'beta\n');

  // What was copied into the created container is there when it runs.
  assert.equal(await ok(['start', '-a', name]), 'from the host\n');
  await ok(['rm', name]);
});

test('docker cp with a container that is not running: its symlinks to /etc stay inside it', async () => {
  const name = 'cp-stopped';
  await ok(['create', '--name', name, '--network', 'none', 'busybox', 'true']);
  // Put absolute and relative links to /etc into the container with docker cp itself.
  const links = join(work, 'links');
  await mkdir(join(links, 'x', 'y'), { recursive: true });
  await run('ln', ['-s', '/etc', join(links, 'hostetc')]);
  await run('ln', ['-s', '../../../../../../../etc', join(links, 'x', 'y', 'up')]);
  await ok(['cp', `${links}/.`, `${name}:/`]);
  const marker = `berth-cp-stopped-${process.pid}-${Date.now()}`;
  await writeFile(join(work, marker), 'stopped container\n');
  await ok(['cp', join(work, marker), `${name}:/hostetc/`]);
  await ok(['cp', join(work, marker), `${name}:/x/y/up/${marker}.rel`]);
  assert.equal(await exists(join('/etc', marker)), false, 'docker cp wrote the host\'s /etc');
  assert.equal(await exists(join('/etc', `${marker}.rel`)), false, 'docker cp wrote the host\'s /etc through ..');
  const out = join(work, 'out-stopped');
  await mkdir(out);
  await ok(['cp', `${name}:/hostetc/passwd`, join(out, 'abs')]);
  await ok(['cp', `${name}:/x/y/up/passwd`, join(out, 'rel')]);
  const busyboxPasswd = 'root:x:0:0:root:/root:/bin/sh\n';
  assert.ok((await readFile(join(out, 'abs'), 'utf8')).startsWith(busyboxPasswd), 'the container\'s passwd');
  assert.ok((await readFile(join(out, 'rel'), 'utf8')).startsWith(busyboxPasswd), 'the container\'s passwd');
  // The files landed in the container's own /etc.
  await ok(['cp', `${name}:/etc/${marker}`, join(out, 'back')]);
  assert.equal(await readFile(join(out, 'back'), 'utf8'), 'stopped container\n');
  await ok(['cp', `${name}:/etc/${marker}.rel`, join(out, 'back-rel')]);
  assert.equal(await readFile(join(out, 'back-rel'), 'utf8'), 'stopped container\n');
  await ok(['rm', name]);
});

test('docker cp through volumes and bind mounts: running and stopped, :ro refused, a read-only root still takes a volume', async () => {
  const bound = join(work, 'bound');
  const roBound = join(work, 'ro-bound');
  await mkdir(bound);
  await mkdir(roBound);
  await writeFile(join(roBound, 'keep'), 'read only\n');
  await writeFile(join(work, 'payload'), 'through the mount\n');
  await ok(['volume', 'create', 'cpvol']);
  const mounts = ['-v', 'cpvol:/data', '-v', `${bound}:/bind`, '-v', `${roBound}:/robind:ro`];
  await ok(['run', '-d', '--name', 'cp-mounts', '--network', 'none', ...mounts, 'busybox', 'sleep', '300']);

  // In: the running container sees the file in its volume and its bind mount, and so does the host.
  await ok(['cp', join(work, 'payload'), 'cp-mounts:/data/in-volume']);
  await ok(['cp', join(work, 'payload'), 'cp-mounts:/bind/']);
  assert.equal(await ok(['exec', 'cp-mounts', 'cat', '/data/in-volume']), 'through the mount\n');
  assert.equal(await ok(['exec', 'cp-mounts', 'cat', '/bind/payload']), 'through the mount\n');
  assert.equal(await readFile(join(bound, 'payload'), 'utf8'), 'through the mount\n');
  const ro = await d.docker(['cp', join(work, 'payload'), 'cp-mounts:/robind/']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /mounted volume is marked read-only/);
  assert.equal(await exists(join(roBound, 'payload')), false);

  // Out: a file the container wrote into its volume, the mount point as a directory, its contents.
  await ok(['exec', 'cp-mounts', 'sh', '-c', 'echo from-inside > /data/written']);
  const out = join(work, 'out-mounts');
  await mkdir(out);
  await ok(['cp', 'cp-mounts:/data/written', join(out, 'w')]);
  assert.equal(await readFile(join(out, 'w'), 'utf8'), 'from-inside\n');
  await ok(['cp', 'cp-mounts:/data', out]);
  assert.deepEqual((await readdir(join(out, 'data'))).sort(), ['in-volume', 'written']);
  await ok(['cp', 'cp-mounts:/robind/.', join(out, 'ro-contents')]);
  assert.deepEqual(await readdir(join(out, 'ro-contents')), ['keep']);
  const missing = await d.docker(['cp', 'cp-mounts:/data/nothing-here', out]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Could not find the file \/data\/nothing-here in container cp-mounts|No such container:path: cp-mounts:\/data\/nothing-here/);

  // Stopped: the volume is still reachable.
  await ok(['stop', '-t', '0', 'cp-mounts']);
  await ok(['cp', join(work, 'payload'), 'cp-mounts:/data/after-stop']);
  await ok(['cp', 'cp-mounts:/data/after-stop', join(out, 'after-stop')]);
  assert.equal(await readFile(join(out, 'after-stop'), 'utf8'), 'through the mount\n');

  // A read-only root refuses a copy into itself but not into its volume.
  await ok(['create', '--name', 'cp-readonly', '--read-only', '--network', 'none', '-v', 'cpvol:/data', 'busybox', 'true']);
  await ok(['cp', join(work, 'payload'), 'cp-readonly:/data/ro-root']);
  const refused = await d.docker(['cp', join(work, 'payload'), 'cp-readonly:/tmp/']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /container rootfs is marked read-only/);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'cpvol:/v', 'busybox', 'cat', '/v/ro-root']), 'through the mount\n');
  await ok(['rm', '-f', 'cp-mounts', 'cp-readonly']);
  await ok(['volume', 'rm', 'cpvol']);
});

test('docker cp with a running container; symlinks resolve inside the container, never on the host', async () => {
  const name = 'cp-running';
  await ok(['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', `${PREPARE} && touch /ready && exec sleep 300`]);
  for (let i = 0; i < 100; i++) {
    if ((await d.docker(['exec', name, 'test', '-f', '/ready'])).code === 0) break;
    await sleep(50);
  }
  const marker = `berth-cp-${process.pid}-${Date.now()}`;
  await writeFile(join(work, marker), 'must stay in the container\n');
  assert.equal(await exists(join('/etc', marker)), false);

  // In through an absolute symlink to /etc: lands in the container's /etc.
  await ok(['cp', join(work, marker), `${name}:/hostetc/`]);
  assert.equal(await exists(join('/etc', marker)), false, 'docker cp wrote the host\'s /etc');
  assert.equal(await ok(['exec', name, 'cat', `/etc/${marker}`]), 'must stay in the container\n');
  // In through a relative symlink with many `..`.
  await ok(['cp', join(work, marker), `${name}:/a/b/c/up/${marker}.rel`]);
  assert.equal(await exists(join('/etc', `${marker}.rel`)), false, 'docker cp wrote the host\'s /etc through ..');
  assert.equal(await ok(['exec', name, 'cat', `/etc/${marker}.rel`]), 'must stay in the container\n');

  // Out through the same links: the container's passwd, not the host's.
  const containerPasswd = await ok(['exec', name, 'cat', '/etc/passwd']);
  const hostPasswd = await readFile('/etc/passwd', 'utf8');
  assert.notEqual(containerPasswd, hostPasswd);
  const out = join(work, 'out-running');
  await mkdir(out);
  await ok(['cp', `${name}:/hostetc/passwd`, join(out, 'abs')]);
  assert.equal(await readFile(join(out, 'abs'), 'utf8'), containerPasswd);
  await ok(['cp', `${name}:/a/b/c/up/passwd`, join(out, 'rel')]);
  assert.equal(await readFile(join(out, 'rel'), 'utf8'), containerPasswd);
  // -L follows a final symlink (inside the container); without it the link itself is copied.
  await ok(['cp', '-L', `${name}:/pw`, join(out, 'followed')]);
  assert.equal(await readFile(join(out, 'followed'), 'utf8'), containerPasswd);
  await ok(['cp', `${name}:/pw`, join(out, 'link')]);
  assert.equal((await run('readlink', [join(out, 'link')])).stdout.trim(), '/etc/passwd');

  // Directory and contents out of a running container, and a directory in.
  await ok(['cp', `${name}:/data`, out]);
  assert.equal(await readFile(join(out, 'data', 'sub', 'two'), 'utf8'), 'deep\n');
  await ok(['cp', `${name}:/data/.`, join(out, 'datacontents')]);
  assert.deepEqual((await readdir(join(out, 'datacontents'))).sort(), ['one', 'sub']);
  await ok(['cp', join(out, 'data'), `${name}:/tmp/back`]);
  assert.equal(await ok(['exec', name, 'cat', '/tmp/back/sub/two']), 'deep\n');

});

test('docker cp of a missing path: "Could not find the file", naming the container as the client did', async () => {
  const name = 'cp-running';
  const marker = 'missing-in.txt';
  const out = join(work, 'out-missing');
  await mkdir(out);
  await writeFile(join(work, marker), 'x\n');
  const wrong: string[] = [];
  const missing = await d.docker(['cp', `${name}:/no/such/file`, join(out, 'x')]);
  if (missing.code !== 1 || !/Could not find the file \/no\/such\/file in container cp-running\n/.test(missing.stderr)) {
    wrong.push(`cp out: exit ${missing.code} ${missing.stderr.trim()}`);
  }
  // Into a missing directory: the daemon refuses the parent; with a trailing slash the CLI itself does.
  const missingIn = await d.docker(['cp', join(work, marker), `${name}:/no/such/dir/f`]);
  if (missingIn.code === 0 || !/Could not find the file \/no\/such\/dir in container cp-running\n/.test(missingIn.stderr)) {
    wrong.push(`cp in: exit ${missingIn.code} ${missingIn.stderr.trim()}`);
  }
  const missingDir = await d.docker(['cp', join(work, marker), `${name}:/no/such/dir/`]);
  if (missingDir.code === 0 || !/no such directory/.test(missingDir.stderr)) wrong.push(`cp in (dir/): exit ${missingDir.code} ${missingDir.stderr.trim()}`);
  const api = await d.request('GET', `/containers/${name}/archive?path=${encodeURIComponent('/no/such/file')}`);
  if (api.status !== 404 || api.json().message !== 'Could not find the file /no/such/file in container cp-running') wrong.push(`GET archive: ${api.status} ${api.body.trim()}`);
  const head = await d.request('HEAD', `/containers/${name}/archive?path=${encodeURIComponent('/no/such/file')}`);
  if (head.status !== 404) wrong.push(`HEAD archive: ${head.status}`);
  assert.deepEqual(wrong, []);
});

test('HEAD /containers/{id}/archive: X-Docker-Container-Path-Stat, resolved in the container', async () => {
  const name = 'cp-running';
  const stat = async (path: string) => {
    const r = await d.request('HEAD', `/containers/${name}/archive?path=${encodeURIComponent(path)}`);
    return { status: r.status, stat: r.headers['x-docker-container-path-stat'] === undefined ? undefined
      : JSON.parse(Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString()) };
  };
  const file = await stat('/data/one');
  assert.equal(file.status, 200);
  assert.equal(file.stat.name, 'one');
  assert.equal(file.stat.size, 'in-data\n'.length);
  assert.equal(file.stat.mode & 0o777, 0o644);
  assert.equal(file.stat.linkTarget, '');
  assert.match(file.stat.mtime, /^\d{4}-\d\d-\d\dT/);
  const dir = await stat('/data');
  assert.equal(dir.stat.name, 'data');
  assert.ok(dir.stat.mode & 0x80000000, `mode ${dir.stat.mode} has os.ModeDir`);
  // A symlink: its target is reported as the path inside the container.
  const link = await stat('/hostetc');
  assert.equal(link.status, 200);
  assert.ok(link.stat.mode & 0x8000000, `mode ${link.stat.mode} has os.ModeSymlink`);
  assert.equal(link.stat.linkTarget, '/etc');
  const missing = await stat('/no/such');
  assert.equal(missing.status, 404);
  // dockerode's infoArchive reads the same header.
  const info: any = await d.dockerode().getContainer(name).infoArchive({ path: '/data/sub/two' });
  info.resume?.();
  const header = info.headers?.['x-docker-container-path-stat'];
  assert.ok(header, 'infoArchive\'s response has the stat header');
  assert.equal(JSON.parse(Buffer.from(String(header), 'base64').toString()).name, 'two');
  // dockerode's getArchive streams a tar of the path.
  const tarStream = await d.dockerode().getContainer(name).getArchive({ path: '/data/one' });
  const chunks: Buffer[] = [];
  for await (const c of tarStream as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  assert.equal(tar.subarray(0, 100).toString().replace(/\0.*$/s, ''), 'one');
  assert.match(tar.toString('latin1'), /in-data\n/);
});

test('docker cp into a --read-only container is refused; out works', async () => {
  await ok(['create', '--name', 'cp-ro', '--read-only', '--network', 'none', 'busybox', 'true']);
  await writeFile(join(work, 'ro.txt'), 'x\n');
  const r = await d.docker(['cp', join(work, 'ro.txt'), 'cp-ro:/tmp/']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /container rootfs is marked read-only/);
  const api = await d.request('PUT', '/containers/cp-ro/archive?path=/tmp', { body: '', headers: { 'Content-Type': 'application/x-tar' } });
  // dockerd 20.10 answers 500 here (checked against it), not the 403 of the API reference.
  assert.equal(api.status, 500, api.body);
  const out = join(work, 'ro-out');
  await ok(['cp', 'cp-ro:/etc/group', out]);
  assert.match(await readFile(out, 'utf8'), /^root:x:0:/);
  await ok(['rm', 'cp-ro']);
});

test('docker commit with -c CMD, -m, -a: the image runs, sees the changes, history shows it', async () => {
  await ok(['run', '--name', 'to-commit', '--network', 'none', 'busybox', 'sh', '-c', 'echo committed-content > /changed && rm /etc/shadow']);
  // docker cp out of and into the exited container, too.
  await ok(['cp', 'to-commit:/changed', join(work, 'changed-out')]);
  assert.equal(await readFile(join(work, 'changed-out'), 'utf8'), 'committed-content\n');
  await writeFile(join(work, 'exited-in.txt'), 'into an exited container\n');
  await ok(['cp', join(work, 'exited-in.txt'), 'to-commit:/exited-in.txt']);
  const id = (await ok(['commit', '-c', 'CMD ["cat","/changed"]', '-m', 'a berth commit', '-a', 'Berth Tester <t@example.com>', 'to-commit', 'committed:v1'])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'committed:v1']), 'committed-content\n');
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'committed:v1', 'cat', '/exited-in.txt']), 'into an exited container\n');
  const gone = await d.docker(['run', '--rm', '--network', 'none', 'committed:v1', 'ls', '/etc/shadow']);
  assert.notEqual(gone.code, 0, 'a deleted file stays deleted in the committed image');
  const img = JSON.parse(await ok(['image', 'inspect', 'committed:v1']))[0];
  assert.equal(img.Id, id);
  assert.deepEqual(img.Config.Cmd, ['cat', '/changed']);
  assert.equal(img.Author, 'Berth Tester <t@example.com>');
  assert.equal(img.Comment, 'a berth commit');
  const base = JSON.parse(await ok(['image', 'inspect', 'busybox']))[0];
  assert.equal(img.RootFS.Layers.length, base.RootFS.Layers.length + 1);
  assert.equal(img.Container, JSON.parse(await ok(['inspect', 'to-commit']))[0].Id);
  const history = (await ok(['history', '--no-trunc', '--format', '{{.ID}}|{{.Comment}}', 'committed:v1'])).trim().split('\n');
  assert.equal(history[0], `${id}|a berth commit`);
  assert.equal(history.length, (await ok(['history', '-q', 'busybox'])).trim().split('\n').length + 1);
  // The commit event names the container and the new image.
  const ev = await ok(['events', '--since', String(Math.floor(started.getTime() / 1000)), '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'event=commit', '--format', '{{.Actor.Attributes.comment}}|{{.Actor.Attributes.imageID}}|{{.Actor.Attributes.imageRef}}|{{.Actor.Attributes.name}}']);
  assert.equal(ev.trim(), `a berth commit|${id}|committed:v1|to-commit`);
  await ok(['rm', 'to-commit']);
  await ok(['rmi', 'committed:v1']);
});

test('docker export: a tar of the container\'s filesystem, with the files it wrote', async () => {
  await ok(['run', '--name', 'to-export', '--network', 'none', 'busybox', 'sh', '-c', 'mkdir -p /srv/x && echo exported > /srv/x/wrote.txt']);
  const file = join(work, 'export.tar');
  await ok(['export', '-o', file, 'to-export']);
  const raw = (await run('tar', ['-tf', file])).stdout.split('\n');
  const list = raw.map((l) => l.replace(/^\.?\//, '').replace(/\/$/, ''));
  for (const p of ['bin/busybox', 'etc/passwd', 'srv/x/wrote.txt', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'proc', 'dev']) {
    assert.ok(list.includes(p), `${p} in the export (${list.length} entries)`);
  }
  const content = await run('tar', ['-xOf', file, raw.find((l) => l.endsWith('srv/x/wrote.txt'))!]);
  assert.equal(content.stdout, 'exported\n');
  // To stdout, too.
  const piped = await run('sh', ['-c', `docker export to-export | tar -t | grep -c wrote.txt`], { env: { DOCKER_HOST: d.host } });
  assert.equal(piped.stdout.trim(), '1', piped.stderr);
  await ok(['rm', 'to-export']);
});

test('docker diff: A, C and D lines for added, changed and deleted paths', async () => {
  await ok(['run', '--name', 'to-diff', '--network', 'none', 'busybox', 'sh', '-c',
    'echo new > /added.txt && mkdir -p /newdir && echo x > /newdir/f && echo more >> /etc/passwd && rm /etc/group']);
  const lines = (await ok(['diff', 'to-diff'])).trim().split('\n');
  for (const want of ['A /added.txt', 'A /newdir', 'A /newdir/f', 'C /etc', 'C /etc/passwd', 'D /etc/group']) {
    assert.ok(lines.includes(want), `"${want}" in diff:\n${lines.join('\n')}`);
  }
  assert.ok(!lines.some((l) => l.endsWith(' /bin/busybox')), 'an unchanged file is not listed');
  // The API's shape: Kind 0 changed, 1 added, 2 deleted.
  const api = await d.request('GET', '/containers/to-diff/changes');
  assert.equal(api.status, 200);
  const changes: Array<{ Path: string; Kind: number }> = api.json();
  assert.deepEqual(changes.find((c) => c.Path === '/added.txt'), { Path: '/added.txt', Kind: 1 });
  assert.deepEqual(changes.find((c) => c.Path === '/etc/passwd'), { Path: '/etc/passwd', Kind: 0 });
  assert.deepEqual(changes.find((c) => c.Path === '/etc/group'), { Path: '/etc/group', Kind: 2 });
  await ok(['rm', 'to-diff']);
  const missing = await d.docker(['diff', 'no-such-container']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such container: no-such-container/);
});
