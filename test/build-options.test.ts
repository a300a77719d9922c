import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { run, type Result, type TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';
import { TestRegistry } from './registry.js';

/**
 * Issue 9, the options of `docker build` beyond the Dockerfile: a remote context served on
 * loopback, the network, hosts and limits of RUN containers, --label, --rm=false and
 * --force-rm, and plain `docker build` falling back to the classic builder with no buildx.
 */

let d: TestDaemon;
let work: string;
let server: Server;
let base: string;
const started = new Date();

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-buildopt-'));
  const served: Record<string, () => Promise<Buffer>> = {
    '/Dockerfile': async () => Buffer.from('FROM busybox\nRUN echo from-remote-dockerfile > /remote\nCMD ["cat", "/remote"]\n'),
    '/context.tar.gz': () => readFile(join(work, 'context.tar.gz')),
    '/files/remote.txt': async () => Buffer.from('downloaded by ADD\n'),
  };
  server = createServer((req, res) => {
    const f = served[req.url ?? ''];
    if (!f) { res.writeHead(404).end(); return; }
    void f().then((b) => res.writeHead(200, {
      'Content-Type': req.url!.endsWith('.gz') ? 'application/gzip' : 'text/plain',
      'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
    }).end(b));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const problems = await removeAllAndFindLeaks(d, started);
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

function docker(args: string[], env: NodeJS.ProcessEnv = { DOCKER_BUILDKIT: '0' }): Promise<Result> {
  return run('docker', args, { env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), ...env }, timeoutMs: 120_000 });
}

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function context(name: string, dockerfile: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

test('a remote context: a Dockerfile URL, and a gzipped tarball URL, served on loopback', async () => {
  await ok(['build', '-t', 'remote:df', `${base}/Dockerfile`]);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'remote:df']), 'from-remote-dockerfile\n');
  const src = await context('tarball', 'FROM busybox\nCOPY payload.txt /payload.txt\nCMD ["cat", "/payload.txt"]\n');
  await writeFile(join(src, 'payload.txt'), 'payload from a tarball\n');
  const t = await run('tar', ['-czf', join(work, 'context.tar.gz'), '-C', src, '.']);
  assert.equal(t.code, 0, t.stderr);
  await ok(['build', '-t', 'remote:tar', `${base}/context.tar.gz`]);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'remote:tar']), 'payload from a tarball\n');
  const missing = await docker(['build', `${base}/nothing-here`]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /unable to prepare context/);
});

test('RUN containers get the network mode, extra hosts and limits of the build', async () => {
  const ctx = await context('netopts', [
    'FROM busybox',
    'RUN grep -c : /proc/net/dev > /ifaces',
    'RUN grep pinned.example /etc/hosts > /hosts',
    'RUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /mem',
    'RUN ulimit -n > /nofile',
    'CMD ["cat", "/ifaces", "/hosts", "/mem", "/nofile"]',
    '',
  ].join('\n'));
  await ok(['build', '--network', 'none', '--add-host', 'pinned.example:10.1.2.3', '--memory', '64m', '--ulimit', 'nofile=1000:2000', '-t', 'opts:none', ctx]);
  const out = (await ok(['run', '--rm', '--network', 'none', 'opts:none'])).split('\n');
  assert.equal(out[0], '1', 'only lo with --network none');
  assert.match(out[1]!, /^10\.1\.2\.3\s+pinned\.example$/);
  assert.equal(out[2], String(64 * 1024 * 1024));
  assert.equal(out[3], '1000');
  // The default is the bridge: lo and eth0.
  await ok(['build', '--no-cache', '--add-host', 'pinned.example:10.1.2.3', '-t', 'opts:bridge', ctx]);
  assert.equal((await ok(['run', '--rm', '--network', 'none', 'opts:bridge'])).split('\n')[0], '2');
  // --network host sees the host's interfaces, the test's bridge among them.
  const host = await context('nethost', 'FROM busybox\nRUN cat /proc/net/dev > /dev-list\n');
  await ok(['build', '--network', 'host', '-t', 'opts:host', host]);
  assert.match(await ok(['run', '--rm', '--network', 'none', 'opts:host', 'cat', '/dev-list']), new RegExp(`${d.bridge}:`));
});

test('--label adds LABEL steps at the end; --rm=false keeps containers, --force-rm removes a failed step\'s', async () => {
  const ctx = await context('labels', 'FROM busybox\nLABEL from.file=yes\nRUN true\n');
  const out = await ok(['build', '--label', 'b.key=2', '--label', 'a.key=1', '-t', 'labels:1', ctx]);
  assert.match(out, /Step 4\/5 : LABEL a\.key=1\n/);
  assert.match(out, /Step 5\/5 : LABEL b\.key=2\n/);
  const img = JSON.parse(await ok(['image', 'inspect', 'labels:1']))[0];
  assert.deepEqual(img.Config.Labels, { 'from.file': 'yes', 'a.key': '1', 'b.key': '2' });
  const kept = await ok(['build', '--rm=false', '--no-cache', ctx]);
  assert.doesNotMatch(kept, /Removing intermediate container/);
  const ids = (await ok(['ps', '-aq'])).trim().split('\n').filter(Boolean);
  assert.equal(ids.length, 2, 'the LABEL and RUN containers stay with --rm=false');
  await ok(['rm', ...ids]);
  const fail = await context('forcerm', 'FROM busybox\nRUN exit 7\n');
  const r = await docker(['build', '--force-rm', fail]);
  assert.equal(r.code, 7);
  assert.match(r.stdout, /Removing intermediate container [0-9a-f]{12}\n/);
  assert.equal(await ok(['ps', '-aq']), '');
});

test('plain `docker build` (no DOCKER_BUILDKIT, no buildx installed) uses the classic builder', async () => {
  const buildx = await docker(['buildx', 'version'], {});
  if (buildx.code === 0) return; // with buildx the CLI would use BuildKit; this case is for hosts without it
  const ctx = await context('plain', 'FROM busybox\nENV PLAIN=1\n');
  const r = await docker(['build', '-t', 'plain:1', ctx], {});
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Step 2\/2 : ENV PLAIN=1\n/);
  assert.match(r.stdout, /Successfully tagged plain:1\n/);
});

test('ADD of a URL downloads the file (0600, Last-Modified as mtime, a tarball not extracted); COPY refuses a URL', async () => {
  const ctx = await context('addurl', `FROM busybox\nADD ${base}/files/remote.txt /r/\nADD ${base}/context.tar.gz /t/\n`);
  await ok(['build', '-t', 'addurl:1', ctx]);
  const out = await ok(['run', '--rm', '--network', 'none', 'addurl:1', 'sh', '-c', 'cat /r/remote.txt; stat -c "%a %Y" /r/remote.txt; ls /t']);
  assert.equal(out, `downloaded by ADD\n600 ${Date.parse('2015-10-21T07:28:00Z') / 1000}\ncontext.tar.gz\n`);
  const again = await ok(['build', '-t', 'addurl:1', ctx]);
  assert.equal(again.match(/Using cache/g)?.length, 2, 'an unchanged download hits the cache');
  const bad = await context('copyurl', `FROM busybox\nCOPY ${base}/files/remote.txt /r/\n`);
  const r = await docker(['build', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /COPY failed: source can't be a URL for COPY/);
});

test('a client that goes away cancels the build: its RUN container is stopped and removed', async () => {
  const ctx = await context('cancel', 'FROM busybox\nRUN echo started; sleep 300\nRUN echo never\n');
  const child = spawn('docker', ['build', ctx], {
    env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), DOCKER_BUILDKIT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const seen = new Promise<void>((resolve) => {
    child.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('started\n')) resolve(); });
  });
  const exited = new Promise((r) => child.once('exit', r));
  await seen;
  assert.equal((await ok(['ps', '-q'])).trim().split('\n').length, 1, 'the RUN container runs');
  child.kill('SIGKILL');
  await exited;
  // The daemon notices the closed connection and removes the container (polled, no timing asserted).
  let left = 'x';
  for (let i = 0; i < 600 && left !== ''; i++) {
    left = (await ok(['ps', '-aq'])).trim();
    if (left) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(left, '', 'no container is left after the client went away');
  assert.doesNotMatch(out, /never/);
});

test('a base image missing locally is pulled from its registry (a local one), and --pull pulls again', async () => {
  const reg = await TestRegistry.start();
  try {
    const name = `${reg.host}/base/bb:1`;
    await ok(['tag', 'busybox', name]);
    await ok(['push', name]);
    await ok(['rmi', name]);
    const ctx = await context('pullbase', `FROM ${name}\nRUN echo on-pulled > /p\nCMD ["cat", "/p"]\n`);
    const out = await ok(['build', '-t', 'pulled:1', ctx]);
    assert.match(out, new RegExp(`Step 1/3 : FROM ${name.replace(/[.]/g, '\\.')}\n1: Pulling from base/bb\n`));
    assert.match(out, /Status: Downloaded newer image for 127\.0\.0\.1:\d+\/base\/bb:1\n/);
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'pulled:1']), 'on-pulled\n');
    const again = await ok(['build', '--pull', '-t', 'pulled:1', ctx]);
    assert.match(again, /Status: Image is up to date for 127\.0\.0\.1:\d+\/base\/bb:1\n/);
    assert.match(again, /Step 2\/3 : RUN echo on-pulled > \/p\n ---> Using cache\n/);
  } finally {
    await reg.stop();
  }
});

test('two builds at once, --iidfile, and docker builder prune', async () => {
  const a = await context('par-a', 'FROM busybox\nRUN echo a > /a\nENV WHICH=a\n');
  const b = await context('par-b', 'FROM busybox\nRUN echo b > /b\nENV WHICH=b\n');
  const iid = join(work, 'iid.txt');
  const [ra, rb] = await Promise.all([docker(['build', '--iidfile', iid, '-t', 'par:a', a]), docker(['build', '-t', 'par:b', b])]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const idA = JSON.parse(await ok(['image', 'inspect', 'par:a']))[0].Id;
  assert.equal(await readFile(iid, 'utf8'), idA);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'par:a', 'sh', '-c', 'cat /a; echo $WHICH']), 'a\na\n');
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'par:b', 'sh', '-c', 'cat /b; echo $WHICH']), 'b\nb\n');
  assert.match(await ok(['builder', 'prune', '-f']), /Total reclaimed space: 0B/);
});
