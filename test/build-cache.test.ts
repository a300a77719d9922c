import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Result, type TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';

/**
 * Issue 9, the build cache's key for COPY sources, with the real CLI (DOCKER_BUILDKIT=0)
 * against a real berthd. A small context is held in memory and hashed from the request; a
 * large one, or one with links, is extracted to disk and hashed there. Either way the key
 * follows the files' content and mode, not their times, as dockerd's tarsum-based cache does.
 */

let d: TestDaemon;
let work: string;
const started = new Date();

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-build-cache-'));
});

after(async () => {
  const problems = await removeAllAndFindLeaks(d, started);
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

function docker(args: string[]): Promise<Result> {
  return run('docker', args, {
    env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), DOCKER_BUILDKIT: '0' },
    timeoutMs: 120_000,
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

const builtId = (out: string) => /Successfully built ([0-9a-f]{12})/.exec(out)?.[1];
const hits = (out: string) => out.match(/ ---> Using cache/g)?.length ?? 0;

/** The steps (by number) that ran rather than came from the cache. */
function ran(out: string): number[] {
  const steps = out.split(/^Step /m).slice(1);
  return steps.filter((s) => !s.includes(' ---> Using cache')).map((s) => Number(/^(\d+)\//.exec(s)![1]));
}

const DOCKERFILE = 'FROM busybox\nENV A=1\nCOPY data/ /data/\nRUN cat /data/* | wc -c > /size\nCOPY top.txt /top.txt\nLABEL l=1\n';
const when = new Date('2021-05-06T07:08:09Z');

async function context(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(dir, 'top.txt'), 'top\n');
  for (let i = 0; i < 20; i++) await writeFile(join(dir, 'data', `f${i}`), `file ${i}\n`.repeat(50));
  return dir;
}

test('a touched file hits; new content of the same size and mtime, a new mode, or a new file misses from its COPY on', async () => {
  const ctx = await context('small');
  const first = await ok(['build', '-t', 'bc:1', ctx]);
  assert.equal(hits(first), 0, first);
  const again = await ok(['build', '-t', 'bc:1', ctx]);
  assert.deepEqual(ran(again), [1], again);
  assert.equal(builtId(again), builtId(first));
  // Every file written again with the same bytes (new mtimes): still all hits, as dockerd's.
  for (let i = 0; i < 20; i++) await writeFile(join(ctx, 'data', `f${i}`), `file ${i}\n`.repeat(50));
  await utimes(join(ctx, 'top.txt'), new Date(), new Date());
  const touched = await ok(['build', '-t', 'bc:1', ctx]);
  assert.deepEqual(ran(touched), [1], touched);
  assert.equal(builtId(touched), builtId(first));
  // One byte changed, size and mtime kept: the COPY of data/ and everything after it run again.
  const f3 = join(ctx, 'data', 'f3');
  await utimes(f3, when, when);
  const base = await ok(['build', '-t', 'bc:1', ctx]);
  assert.equal(builtId(base), builtId(first));
  await writeFile(f3, `file 3\n`.repeat(49) + 'file X\n');
  await utimes(f3, when, when);
  const changed = await ok(['build', '-t', 'bc:2', ctx]);
  assert.deepEqual(ran(changed), [1, 3, 4, 5, 6], changed);
  assert.notEqual(builtId(changed), builtId(first));
  assert.equal((await ok(['run', '--rm', '--network', 'none', 'bc:2', 'tail', '-n', '1', '/data/f3'])).trim(), 'file X');
  // Put back: the first build's images are found again.
  await writeFile(f3, `file 3\n`.repeat(50));
  assert.equal(builtId(await ok(['build', '-t', 'bc:1', ctx])), builtId(first));
  // A mode changed: a miss from that COPY on.
  await chmod(join(ctx, 'top.txt'), 0o755);
  const moded = await ok(['build', '-t', 'bc:3', ctx]);
  assert.deepEqual(ran(moded), [1, 5, 6], moded);
  assert.equal((await ok(['run', '--rm', '--network', 'none', 'bc:3', 'stat', '-c', '%a', '/top.txt'])).trim(), '755');
  await chmod(join(ctx, 'top.txt'), 0o644);
  // A new file in a copied directory: a miss.
  await writeFile(join(ctx, 'data', 'new'), 'new\n');
  const added = await ok(['build', '-t', 'bc:4', ctx]);
  assert.deepEqual(ran(added), [1, 3, 4, 5, 6], added);
  assert.equal((await ok(['run', '--rm', '--network', 'none', 'bc:4', 'cat', '/data/new'])).trim(), 'new');
  await rm(join(ctx, 'data', 'new'));
  // No build left a context behind in the daemon's tmp dir.
  const left = (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('docker-'));
  assert.deepEqual(left, []);
});

test('a context too large for memory, or with a link, keys its COPY steps as a small one does', async () => {
  const small = await context('keys-small');
  const first = await ok(['build', '-t', 'bk:small', small]);
  // The same files plus 20 MB of random bytes that no step copies: this context is extracted
  // to disk, and its COPY steps find the images the small context's build made.
  const large = await context('keys-large');
  await writeFile(join(large, 'big.bin'), randomBytes(20 << 20));
  const big = await ok(['build', '-t', 'bk:large', large]);
  assert.deepEqual(ran(big), [1], big);
  assert.equal(builtId(big), builtId(first));
  // A symlink in the context (not copied) sends it to disk too: the same keys.
  const linked = await context('keys-link');
  await symlink('top.txt', join(linked, 'alias'));
  const withLink = await ok(['build', '-t', 'bk:link', linked]);
  assert.deepEqual(ran(withLink), [1], withLink);
  assert.equal(builtId(withLink), builtId(first));
  // And a change seen through either path misses.
  await writeFile(join(large, 'top.txt'), 'pot\n');
  const changed = await ok(['build', '-t', 'bk:large2', large]);
  assert.deepEqual(ran(changed), [1, 5, 6], changed);
  assert.equal((await ok(['run', '--rm', '--network', 'none', 'bk:large2', 'cat', '/top.txt'])).trim(), 'pot');
});

test('a miss after hits writes the context out: COPY of files, modes and a local tar ADD from a small context', async () => {
  const ctx = join(work, 'miss');
  await mkdir(join(ctx, 'd/e'), { recursive: true });
  await writeFile(join(ctx, 'd/e/x'), 'x\n');
  await writeFile(join(ctx, 'run.sh'), '#!/bin/sh\necho ran\n');
  await chmod(join(ctx, 'run.sh'), 0o750);
  await run('tar', ['-C', join(ctx, 'd'), '-cf', join(ctx, 'e.tar'), 'e']);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nENV B=2\nCOPY d /d\nCOPY run.sh /bin/\nADD e.tar /t/\nCMD ["run.sh"]\n');
  await ok(['build', '-t', 'bm:1', ctx]);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nENV B=2\nCOPY d /d\nCOPY run.sh /bin/\nADD e.tar /t/\nCMD ["run.sh", "again"]\n');
  const out = await ok(['build', '-t', 'bm:2', ctx]);
  assert.deepEqual(ran(out), [1, 6], out);
  await writeFile(join(ctx, 'd/e/x'), 'y\n');
  const out2 = await ok(['build', '-t', 'bm:3', ctx]);
  assert.deepEqual(ran(out2), [1, 3, 4, 5, 6], out2);
  const ls = await ok(['run', '--rm', '--network', 'none', 'bm:3', 'sh', '-c', 'cat /d/e/x /t/e/x; stat -c "%a %u" /bin/run.sh; run.sh']);
  assert.equal(ls, 'y\nx\n750 0\nran\n');
});
