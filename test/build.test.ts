import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Result, type TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';

/**
 * Issue 9, `docker build` with the classic builder (DOCKER_BUILDKIT=0) and the real CLI
 * against a real berthd: steps and their output, the image configs, the cache, errors.
 */

let d: TestDaemon;
let work: string;
const started = new Date();

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-build-'));
});

after(async () => {
  const problems = await removeAllAndFindLeaks(d, started);
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

function docker(args: string[], input?: string): Promise<Result> {
  return run('docker', args, {
    env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), DOCKER_BUILDKIT: '0' },
    timeoutMs: 120_000, ...(input === undefined ? {} : { input }),
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await docker(args, input);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** A context directory with the given files (a trailing '/' makes a directory). */
async function context(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  for (const [p, content] of Object.entries(files)) {
    if (p.endsWith('/')) await mkdir(join(dir, p), { recursive: true });
    else {
      await mkdir(join(dir, p, '..'), { recursive: true });
      await writeFile(join(dir, p), content);
    }
  }
  return dir;
}

async function inspect(ref: string): Promise<any> {
  return JSON.parse(await ok(['image', 'inspect', ref]))[0];
}

const builtId = (out: string) => /Successfully built ([0-9a-f]{12})/.exec(out)?.[1];

test('a multi-step build: steps in dockerd\'s words, the config of every instruction, the files, and no container left', async () => {
  const ctx = await context('multi', {
    'hello.txt': 'hello from the context\n',
    'dir/a.txt': 'a\n',
    'dir/sub/b.txt': 'b\n',
    Dockerfile: [
      'FROM busybox',
      'MAINTAINER someone@example.com',
      'ENV GREETING=hi OTHER="two words"',
      'ARG VERSION=1.0',
      'LABEL org.example.version=$VERSION team=core',
      'WORKDIR /app',
      'COPY hello.txt .',
      'COPY dir /app/dir/',
      'RUN echo "built $GREETING $VERSION" > /app/built.txt && echo out-of-run',
      'EXPOSE 8080 53/udp',
      'VOLUME /data',
      'USER 1000:1000',
      'STOPSIGNAL SIGUSR1',
      'HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD true',
      'SHELL ["/bin/sh", "-ec"]',
      'ONBUILD RUN echo triggered',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["cat /app/hello.txt /app/built.txt; echo $GREETING"]',
      '',
    ].join('\n'),
  });
  const out = await ok(['build', '-t', 'multi:1', '-t', 'multi:two', ctx]);
  assert.match(out, /^Sending build context to Docker daemon/m);
  assert.match(out, /^Step 1\/18 : FROM busybox\n ---> [0-9a-f]{12}\n/m);
  assert.match(out, /^Step 3\/18 : ENV GREETING=hi OTHER="two words"\n ---> Running in ([0-9a-f]{12})\nRemoving intermediate container \1\n ---> [0-9a-f]{12}\n/m);
  assert.match(out, /^Step 9\/18 : RUN echo .*\n ---> Running in ([0-9a-f]{12})\nout-of-run\nRemoving intermediate container \1\n ---> [0-9a-f]{12}\n/m);
  assert.match(out, /^Step 7\/18 : COPY hello.txt \.\n ---> [0-9a-f]{12}\n/m);
  assert.match(out, /^Successfully built [0-9a-f]{12}\nSuccessfully tagged multi:1\nSuccessfully tagged multi:two\n/m);
  const img = await inspect('multi:1');
  assert.equal(img.Id.slice(7, 19), builtId(out));
  assert.equal((await inspect('multi:two')).Id, img.Id);
  const c = img.Config;
  assert.ok(c.Env.includes('GREETING=hi'));
  assert.ok(c.Env.includes('OTHER=two words'));
  assert.ok(!c.Env.some((e: string) => e.startsWith('VERSION=')), 'an ARG is not in the image env');
  assert.deepEqual(c.Labels, { 'org.example.version': '1.0', team: 'core' });
  assert.equal(c.WorkingDir, '/app');
  assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.User, '1000:1000');
  assert.equal(c.StopSignal, 'SIGUSR1');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 3e9, Retries: 3 });
  assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
  assert.deepEqual(c.OnBuild, ['RUN echo triggered']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(c.Cmd, ['cat /app/hello.txt /app/built.txt; echo $GREETING']);
  assert.equal(img.Author, 'someone@example.com');
  assert.deepEqual(img.ContainerConfig.Cmd.slice(0, 3), ['/bin/sh', '-ec', '#(nop) '], 'config steps run with the SHELL, as dockerd');
  // The history reads as dockerd's: #(nop) commands for config steps, the command for RUN.
  const history = await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'multi:1']);
  assert.match(history, /\/bin\/sh -c #\(nop\)  ENV GREETING=hi OTHER=two words/);
  assert.match(history, /\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \. /);
  assert.match(history, /\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/app\/dir\/ /);
  assert.match(history, /\|1 VERSION=1.0 \/bin\/sh -c echo "built \$GREETING \$VERSION" > \/app\/built.txt/);
  // The image runs with what was built into it.
  const ran = await ok(['run', '--rm', '--network', 'none', '-u', '0', 'multi:1']);
  assert.equal(ran, 'hello from the context\nbuilt hi 1.0\nhi\n');
  const tree = await ok(['run', '--rm', '--network', 'none', '-u', '0', '--entrypoint', 'sh', 'multi:1', '-c',
    'cat /app/dir/a.txt /app/dir/sub/b.txt; stat -c "%u:%g %a" /app/hello.txt /app/dir/sub; ls -d /app']);
  assert.equal(tree, 'a\nb\n0:0 644\n0:0 755\n/app\n');
  // An image built FROM it runs its ONBUILD trigger.
  const child = await context('onbuild', { Dockerfile: 'FROM multi:1\nUSER 0\n' });
  const cout = await ok(['build', '-t', 'child:1', child]);
  assert.match(cout, /# Executing 1 build trigger\n ---> Running in ([0-9a-f]{12})\ntriggered\n/);
  assert.equal((await inspect('child:1')).Config.OnBuild, null);
  assert.equal(await ok(['ps', '-aq']), '', 'no intermediate container is left');
});

test('a rebuild is all cache hits with the same image; a changed file misses from its COPY on; --no-cache', async () => {
  const ctx = await context('cache', {
    'a.txt': 'one\n',
    'b.txt': 'bee\n',
    Dockerfile: 'FROM busybox\nENV X=1\nRUN echo run-one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nCOPY b.txt /b.txt\nCMD ["cat", "/copy"]\n',
  });
  const first = await ok(['build', '-t', 'cache:1', ctx]);
  assert.doesNotMatch(first, /Using cache/);
  const again = await ok(['build', '-t', 'cache:1', ctx]);
  assert.equal(again.match(/ ---> Using cache/g)?.length, 6, again);
  assert.doesNotMatch(again, /Running in/);
  assert.equal(builtId(again), builtId(first));
  await writeFile(join(ctx, 'a.txt'), 'two\n');
  const changed = await ok(['build', '-t', 'cache:2', ctx]);
  // FROM, then ENV and the first RUN from the cache; COPY a.txt and everything after it run again.
  assert.match(changed, /Step 2\/7 : ENV X=1\n ---> Using cache\n/);
  assert.match(changed, /Step 3\/7 : RUN echo run-one > \/one\n ---> Using cache\n/);
  assert.match(changed, /Step 4\/7 : COPY a.txt \/a.txt\n ---> [0-9a-f]{12}\n/);
  assert.match(changed, /Step 5\/7 : RUN cat \/a.txt > \/copy\n ---> Running in/);
  assert.equal(changed.match(/Using cache/g)?.length, 2);
  assert.notEqual(builtId(changed), builtId(first));
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'cache:2']), 'two\n');
  const nocache = await ok(['build', '--no-cache', '-t', 'cache:3', ctx]);
  assert.doesNotMatch(nocache, /Using cache/);
  assert.notEqual(builtId(nocache), builtId(changed));
  // The parent chain links each step's image to the one before.
  const history = await ok(['history', '-q', 'cache:3']);
  assert.ok(history.trim().split('\n').slice(0, 7).every((l) => /^[0-9a-f]{12}$/.test(l)), history);
});

test('a failing RUN: its exit code and dockerd\'s message, and no container left behind', async () => {
  const ctx = await context('fail', { Dockerfile: 'FROM busybox\nRUN echo before\nRUN echo failing; exit 3\nRUN echo never\n' });
  const r = await docker(['build', ctx]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /Step 3\/4 : RUN echo failing; exit 3\n ---> Running in [0-9a-f]{12}\nfailing\n/);
  assert.doesNotMatch(r.stdout, /never/);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo failing; exit 3' returned a non-zero code: 3/);
  assert.equal(await ok(['ps', '-aq']), '');
  const f = await context('false', { Dockerfile: 'FROM busybox\nRUN false\n' });
  const r2 = await docker(['build', f]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /The command '\/bin\/sh -c false' returned a non-zero code: 1/);
  assert.equal(await ok(['ps', '-aq']), '');
});

test('a syntax error names its line before any step runs', async () => {
  const ctx = await context('syntax', { Dockerfile: 'FROM busybox\nRUN echo fine\nFROBNICATE now\n' });
  const r = await docker(['build', ctx]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dockerfile parse error line 3: unknown instruction: FROBNICATE/);
  assert.doesNotMatch(r.stdout, /Step 1/);
  const e = await context('empty-arg', { Dockerfile: 'FROM busybox\n\nENV\n' });
  const r2 = await docker(['build', e]);
  assert.match(r2.stderr, /dockerfile parse error line 3: ENV requires at least one argument/);
  assert.equal(await ok(['ps', '-aq']), '');
});

test('.dockerignore with exceptions: excluded files are not in the context, exceptions are', async () => {
  const ctx = await context('ignore', {
    'keep.txt': 'keep\n',
    'secret.key': 'secret\n',
    'logs/a.log': 'a\n',
    'logs/important.log': 'important\n',
    'build/out.bin': 'bin\n',
    '.dockerignore': '*.key\nlogs/*.log\n!logs/important.log\nbuild\n.dockerignore\n',
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["find", "/ctx", "-type", "f"]\n',
  });
  await ok(['build', '-t', 'ignore:1', ctx]);
  const files = (await ok(['run', '--rm', '--network', 'none', 'ignore:1'])).trim().split('\n').sort();
  assert.deepEqual(files, ['/ctx/Dockerfile', '/ctx/keep.txt', '/ctx/logs/important.log']);
  const miss = await context('ignore-miss', { 'secret.key': 's\n', '.dockerignore': '*.key\n', Dockerfile: 'FROM busybox\nCOPY secret.key /\n' });
  const r = await docker(['build', miss]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat secret\.key: file does not exist/);
});

test('multi-stage: COPY --from a named stage and by index, --target, build args, unused-arg warning', async () => {
  const ctx = await context('stages', {
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM $BASE AS builder',
      'ARG WHAT=default',
      'RUN mkdir -p /out && echo "made $WHAT" > /out/artifact',
      'FROM busybox AS second',
      'RUN echo second > /second',
      'FROM scratch AS final',
      'COPY --from=builder /out/artifact /artifact',
      'COPY --from=1 /second /second',
      'COPY --from=builder /bin/busybox /bin/sh',
      'CMD ["/bin/sh", "-c", "cat /artifact /second"]',
      '',
    ].join('\n'),
  });
  const out = await ok(['build', '--build-arg', 'WHAT=by-arg', '--build-arg', 'NOBODY=x', '-t', 'stages:final', ctx]);
  assert.match(out, /Step 1\/11 : ARG BASE=busybox\n/);
  assert.match(out, /Step 7\/11 : FROM scratch AS final\n ---> \n/);
  assert.match(out, /\[Warning\] One or more build-args \[NOBODY\] were not consumed\n/);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'stages:final']), 'made by-arg\nsecond\n');
  const img = await inspect('stages:final');
  assert.equal(img.RootFS.Layers.length, 3);
  const t = await ok(['build', '--build-arg', 'WHAT=by-arg', '--target', 'builder', '-t', 'stages:builder', ctx]);
  assert.match(t, /Step 4\/4 : RUN mkdir/);
  assert.doesNotMatch(t, /second/);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'stages:builder', 'cat', '/out/artifact']), 'made by-arg\n');
  const bad = await docker(['build', '--target', 'nosuch', ctx]);
  assert.match(bad.stderr, /failed to reach build target nosuch in Dockerfile/);
});

test('a symlink in the context cannot make COPY read a host file', async () => {
  const ctx = await context('symlink', { Dockerfile: 'FROM busybox\nCOPY passwd /stolen\n' });
  await symlink('/etc/passwd', join(ctx, 'passwd'));
  const r = await docker(['build', ctx]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /COPY failed: file not found in build context/);
  const ctx2 = await context('symlink-dir', { Dockerfile: 'FROM busybox\nCOPY up/etc/hostname /stolen\n' });
  await symlink('../../../../../../../../..', join(ctx2, 'up'));
  const r2 = await docker(['build', ctx2]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /COPY failed: file not found in build context/);
  // A link inside the context is followed inside it.
  const ctx3 = await context('symlink-in', { 'real.txt': 'real\n', Dockerfile: 'FROM busybox\nCOPY alias.txt /alias.txt\nCMD ["cat", "/alias.txt"]\n' });
  await symlink('/real.txt', join(ctx3, 'alias.txt'));
  await ok(['build', '-t', 'symlink:in', ctx3]);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'symlink:in']), 'real\n');
});

test('ADD of a local tar extracts it; COPY of a tar does not; wildcards', async () => {
  const ctx = await context('add', { 'x/one.txt': '1\n', 'x/two.txt': '2\n', 'y.md': 'y\n' });
  const tr = await run('tar', ['-czf', join(ctx, 'bundle.tar.gz'), '-C', join(ctx, 'x'), '.']);
  assert.equal(tr.code, 0, tr.stderr);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nADD bundle.tar.gz /unpacked/\nCOPY bundle.tar.gz /packed/\nCOPY x/*.txt y.md /wild/\n');
  await ok(['build', '-t', 'add:1', ctx]);
  const ls = await ok(['run', '--rm', '--network', 'none', 'add:1', 'sh', '-c', 'ls /unpacked /packed /wild']);
  assert.equal(ls, '/packed:\nbundle.tar.gz\n\n/unpacked:\none.txt\ntwo.txt\n\n/wild:\none.txt\ntwo.txt\ny.md\n');
  const many = await context('many', { 'a.txt': 'a', 'b.txt': 'b', Dockerfile: 'FROM busybox\nCOPY *.txt /notadir\n' });
  const r = await docker(['build', many]);
  assert.match(r.stderr, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
});

test('-q prints only the image ID; squash is refused without experimental', async () => {
  const ctx = await context('quiet', { Dockerfile: 'FROM busybox\nRUN echo noisy\n' });
  const out = await ok(['build', '-q', '--no-cache', ctx]);
  assert.match(out, /^sha256:[0-9a-f]{64}\n$/);
  // The CLI refuses --squash itself against a daemon without experimental; the API refuses it too.
  const r = await d.request('POST', '/v1.41/build?squash=1');
  assert.equal(r.status, 400);
  assert.equal(r.json().message, 'squash is only supported with experimental mode');
});

test('--cache-from: an image with no parent links (saved and loaded) serves as cache by its history', async () => {
  const ctx = await context('cachefrom', {
    'f.txt': 'cached file\n',
    Dockerfile: 'FROM busybox\nENV A=1\nRUN echo layer > /layer\nCOPY f.txt /f.txt\nCMD ["cat", "/f.txt"]\n',
  });
  const first = await ok(['build', '-t', 'cachesrc:1', ctx]);
  const id = (await inspect('cachesrc:1')).Id;
  const tar = join(work, 'cachesrc.tar');
  await ok(['save', '-o', tar, 'cachesrc:1']);
  await ok(['rmi', 'cachesrc:1']);
  await ok(['load', '-i', tar]);
  assert.equal((await inspect('cachesrc:1')).Id, id);
  // Loaded images have no parent links: without --cache-from nothing is reused.
  const plain = await ok(['build', '--no-cache', '-t', 'cachesrc:plain', ctx]);
  assert.doesNotMatch(plain, /Using cache/);
  await ok(['rmi', 'cachesrc:plain']);
  const from = await ok(['build', '--cache-from', 'cachesrc:1', '-t', 'cachesrc:2', ctx]);
  assert.equal(from.match(/ ---> Using cache/g)?.length, 4, from);
  assert.equal((await inspect('cachesrc:2')).Id, id, 'the last step resolves to the cache-from image itself');
  assert.ok(builtId(first));
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'cachesrc:2']), 'cached file\n');
});

test('a Dockerfile from stdin, with no context and with -f - over a context', async () => {
  const out = await ok(['build', '-t', 'stdin:1', '-'], 'FROM busybox\nENV FROM_STDIN=1\nCMD ["sh", "-c", "echo $FROM_STDIN"]\n');
  assert.match(out, /Step 2\/3 : ENV FROM_STDIN=1\n/);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'stdin:1']), '1\n');
  const ctx = await context('stdin-ctx', { 'data.txt': 'from the context\n' });
  await ok(['build', '-f', '-', '-t', 'stdin:2', ctx], 'FROM busybox\nCOPY data.txt /\nCMD ["cat", "/data.txt"]\n');
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'stdin:2']), 'from the context\n');
});

test('a gzip-compressed context (--compress) and a bzip2/xz one over the API', async () => {
  const ctx = await context('compress', { 'c.txt': 'compressed\n', Dockerfile: 'FROM busybox\nCOPY c.txt /c.txt\nCMD ["cat", "/c.txt"]\n' });
  await ok(['build', '--compress', '-t', 'compress:1', ctx]);
  assert.equal(await ok(['run', '--rm', '--network', 'none', 'compress:1']), 'compressed\n');
  for (const tool of ['bzip2', 'xz']) {
    const tar = join(work, `ctx.tar.${tool}`);
    assert.equal((await run('tar', ['-c', `--use-compress-program=${tool}`, '-f', tar, '-C', ctx, '.'])).code, 0);
    const r = await run('curl', ['-sS', '--unix-socket', d.socket, '-H', 'Content-Type: application/x-tar', '--data-binary', `@${tar}`,
      `http://localhost/v1.41/build?t=compress:${tool}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Successfully tagged compress:/);
    assert.equal(await ok(['run', '--rm', '--network', 'none', `compress:${tool}`]), 'compressed\n');
  }
});
