import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run, type Result, type TestDaemon } from './harness.js';
import { ReferenceDockerd, skipReason } from './reference-dockerd.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';
import { buildBusybox, dockerArchive } from '../src/image/builtin/busybox.js';

/**
 * Issue 9 against the reference: the same Dockerfile and context built by dockerd 20.10's
 * classic builder and by berthd, compared in their output, image configs, history and file
 * trees. Needs Debian's docker.io; skipped with a message when dockerd is absent.
 */
const skip = skipReason('compare builds with the reference');

let dir: string;
let berth: TestDaemon;
let dockerd: ReferenceDockerd | undefined;
let dockerSock: string;
const started = new Date();

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'bt-buildref-'));
  await writeFile(join(dir, 'daemon.json'), '{}');
  dockerd = await ReferenceDockerd.start(dir);
  dockerSock = dockerd.socket;
  const bb = await buildBusybox();
  const path = join(dir, 'bb.tar');
  await pipeline(dockerArchive(bb, ['busybox:latest']), createWriteStream(path));
  assert.equal((await on('docker', ['load', '-i', path])).code, 0);
  berth = await startWithBusybox();
});

after(async () => {
  if (skip) return;
  const leaks = berth ? await removeAllAndFindLeaks(berth, started) : [];
  if (dockerd) leaks.push(...await dockerd.stop());
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

function on(engine: 'docker' | 'berth', args: string[]): Promise<Result> {
  const host = engine === 'docker' ? `unix://${dockerSock}` : berth.host;
  return run('docker', args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: join(dir, `cli-${engine}`), DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
}

async function both(args: string[]): Promise<{ docker: string; berth: string }> {
  const [a, b] = [await on('docker', args), await on('berth', args)];
  assert.equal(a.code, 0, `dockerd: docker ${args.join(' ')}: ${a.stderr}`);
  assert.equal(b.code, 0, `berthd: docker ${args.join(' ')}: ${b.stderr}`);
  return { docker: a.stdout, berth: b.stdout };
}

/** IDs and content hashes differ between engines (dates, tarsum); everything else must not. */
const norm = (s: string) => s
  .replace(/sha256:[0-9a-f]{64}/g, 'sha256:ID')
  .replace(/(file|dir|multi):[0-9a-f]{64}/g, '$1:HASH')
  .replace(/\b[0-9a-f]{12}\b/g, 'ID');

const DOCKERFILE = [
  'FROM busybox',
  'MAINTAINER someone@example.com',
  'ARG V=1',
  'ENV A=1 B="two words"',
  'LABEL l1=v1 "l 2"=v2',
  'WORKDIR /app',
  'COPY f.txt .',
  'COPY --chown=1:2 dir /app/dir/',
  'ADD t.tar /t/',
  'COPY *.md /md/',
  'RUN echo $V $A > /app/run.txt && mkdir -p /data && echo x > /data/x',
  'EXPOSE 80 53/udp',
  'VOLUME ["/data"]',
  'USER 1000',
  'STOPSIGNAL SIGTERM',
  'HEALTHCHECK --interval=5s --retries=2 CMD true',
  'SHELL ["/bin/sh", "-ec"]',
  'ONBUILD RUN echo hi',
  'ENTRYPOINT ["/bin/sh"]',
  'CMD ["-c", "echo $A"]',
  '',
].join('\n');

test('the same build on dockerd and berthd: output, config, history and files agree', { skip }, async () => {
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'dir/sub'), { recursive: true });
  await mkdir(join(ctx, 'tarsrc'), { recursive: true });
  await writeFile(join(ctx, 'f.txt'), 'file\n');
  await writeFile(join(ctx, 'dir/one'), '1\n');
  await writeFile(join(ctx, 'dir/sub/two'), '2\n');
  await writeFile(join(ctx, 'a.md'), 'a\n');
  await writeFile(join(ctx, 'b.md'), 'b\n');
  await writeFile(join(ctx, 'tarsrc/in-tar'), 'in tar\n');
  assert.equal((await run('tar', ['-cf', join(ctx, 't.tar'), '--owner=5', '--group=6', '-C', join(ctx, 'tarsrc'), '.'])).code, 0);
  await writeFile(join(ctx, '.dockerignore'), 'tarsrc\n');
  await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);
  const args = ['build', '--network', 'none', '--build-arg', 'V=2', '--build-arg', 'UNUSED=1', '--label', 'extra=yes', '-t', 'ref:1', ctx];
  const out = await both(args);
  assert.equal(norm(out.berth), norm(out.docker));
  const [di, bi] = [JSON.parse((await both(['image', 'inspect', 'ref:1'])).docker)[0], JSON.parse((await both(['image', 'inspect', 'ref:1'])).berth)[0]];
  const view = (i: any) => JSON.parse(norm(JSON.stringify({
    Config: i.Config, ContainerConfig: { ...i.ContainerConfig, Hostname: '' }, Author: i.Author, Os: i.Os,
    Architecture: i.Architecture, Layers: i.RootFS.Layers.length, Container: i.Container ? 'set' : '',
  })));
  assert.equal(JSON.stringify(view(bi), null, 1), JSON.stringify(view(di), null, 1));
  const history = await both(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'ref:1']);
  assert.equal(norm(history.berth), norm(history.docker));
  const tree = await both(['run', '--rm', '--network', 'none', '-u', '0', '--entrypoint', 'sh', 'ref:1', '-c',
    'find /app /t /md /data | sort | xargs stat -c "%n %F %a %u:%g %s"']);
  assert.equal(tree.berth, tree.docker);
  // A rebuild reads the same on both: every step from the cache.
  const again = await both(args);
  assert.equal(norm(again.berth), norm(again.docker));
  // Errors read the same.
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN exit 4\n');
  const [fd, fb] = [await on('docker', ['build', '--network', 'none', ctx]), await on('berth', ['build', '--network', 'none', ctx])];
  assert.equal(fb.code, fd.code);
  assert.equal(norm(fb.stdout), norm(fd.stdout));
  assert.equal(norm(fb.stderr), norm(fd.stderr));
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY nothing /x\n');
  const [md, mb] = [await on('docker', ['build', ctx]), await on('berth', ['build', ctx])];
  assert.equal(norm(mb.stderr), norm(md.stderr));
  for (const e of ['docker', 'berth'] as const) {
    const ids = (await on(e, ['ps', '-aq'])).stdout.trim();
    if (ids) await on(e, ['rm', '-f', ...ids.split('\n')]);
  }
});

/** Builds `dockerfile` over `files` on both engines and checks output, config, history and files agree. */
async function compare(name: string, files: Record<string, string>, args: string[], paths: string[], at = join(dir, name)): Promise<void> {
  const ctx = at;
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(ctx, p, '..'), { recursive: true });
    await writeFile(join(ctx, p), content);
  }
  const tag = `${name}:ref`;
  args = args.map((a) => a.replace('{ctx}', ctx));
  const out = await both(['build', '--network', 'none', ...args, '-t', tag, ctx]);
  assert.equal(norm(out.berth), norm(out.docker), `${name}: build output`);
  const [di, bi] = [JSON.parse((await both(['image', 'inspect', tag])).docker)[0], JSON.parse((await both(['image', 'inspect', tag])).berth)[0]];
  const view = (i: any) => norm(JSON.stringify({
    Config: i.Config, ContainerConfig: { ...i.ContainerConfig, Hostname: '' }, Author: i.Author, Layers: i.RootFS.Layers.length, Size: i.Size,
  }, null, 1));
  assert.equal(view(bi), view(di), `${name}: config`);
  const history = await both(['history', '--no-trunc', '--format', '{{.CreatedBy}}', tag]);
  assert.equal(norm(history.berth), norm(history.docker), `${name}: history`);
  if (paths.length) {
    const tree = await both(['run', '--rm', '--network', 'none', '-u', '0', '--entrypoint', '/bin/busybox', tag, 'sh', '-c',
      `find ${paths.join(' ')} | sort | while read -r f; do stat -c "%n %F %a %u:%g %s" "$f"; done`]);
    assert.equal(tree.berth, tree.docker, `${name}: files`);
  }
  const again = await both(['build', '--network', 'none', ...args, '-t', tag, ctx]);
  assert.equal(norm(again.berth), norm(again.docker), `${name}: rebuild`);
}

test('multi-stage, scratch, meta ARGs, ONBUILD triggers and odd instructions agree with dockerd', { skip }, async () => {
  await compare('stages', {
    'src/app.txt': 'app\n',
    Dockerfile: [
      'ARG BASE=busybox',
      'ARG UNUSEDMETA',
      'FROM $BASE AS build',
      'ARG BASE',
      'ARG N=3',
      'ENV P=/opt/out Q=${N:-none} R=${MISSING:+set}',
      'WORKDIR out',
      'WORKDIR sub',
      'RUN echo $BASE $N $Q > made && ls -la /opt || true',
      'COPY src/ $P/',
      'FROM scratch',
      'COPY --from=build /bin/busybox /bin/',
      'COPY --from=0 /out/sub/made /made',
      'COPY --from=build /opt /opt',
      'EXPOSE 8000-8002/tcp 9000/udp',
      'HEALTHCHECK NONE',
      'LABEL "quoted key"="quoted value" plain=1',
      'USER nobody:nogroup',
      'ONBUILD COPY . /onbuild',
      'CMD /bin/busybox cat /made',
      '',
    ].join('\n'),
  }, ['--build-arg', 'N=5'], ['/made', '/opt', '/bin']);
  await compare('onbuild-child', { Dockerfile: 'FROM stages:ref\nUSER 0\n', 'x.txt': 'x\n' }, [], ['/onbuild']);
  // A Dockerfile in a subdirectory that .dockerignore excludes, exceptions, a continuation warning.
  await compare('ignored', {
    'build/Custom.dockerfile': 'FROM busybox\nRUN echo a \\\n\n  b > /w\nCOPY . /ctx/\n',
    '.dockerignore': 'build\n*.log\n!keep.log\n',
    'keep.log': 'k\n', 'drop.log': 'd\n', 'plain.txt': 'p\n',
  }, ['-f', '{ctx}/build/Custom.dockerfile'], ['/ctx', '/w']);
});

test('errors and warnings read as dockerd\'s', { skip }, async () => {
  const cases: Record<string, string> = {
    syntax: 'FROM busybox\nRUN true\nNOPE x\n',
    envBlank: 'FROM busybox\nENV\n',
    beforeFrom: 'RUN true\nFROM busybox\n',
    badHealth: 'FROM busybox\nHEALTHCHECK --interval=1 CMD true\n',
    copyMany: 'FROM busybox\nCOPY a b /notdir\n',
    copyOutside: 'FROM busybox\nCOPY ../x /y\n',
    noSources: 'FROM busybox\nCOPY *.nothing /y/\n',
    runJson: 'FROM busybox\nRUN ["/bin/sh", "-c", "exit 2"]\n',
    empty: '\n# only a comment\n',
    unknownFlag: 'FROM busybox\nCOPY --nope=1 a /a\n',
    runFlag: 'FROM busybox\nRUN --mount=type=cache,target=/x true\n',
    badStopSignal: 'FROM busybox\nSTOPSIGNAL NOTASIGNAL\n',
    emptyAfterArg: 'ARG X\n',
    badExpose: 'FROM busybox\nEXPOSE abc\n',
    chmod: 'FROM busybox\nCOPY --chmod=755 a /a\n',
    chownName: 'FROM busybox\nCOPY --chown=nosuchuser a /a\n',
  };
  for (const [name, dockerfile] of Object.entries(cases)) {
    const ctx = join(dir, `err-${name}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    await writeFile(join(ctx, 'a'), 'a');
    await writeFile(join(ctx, 'b'), 'b');
    const [d, b] = [await on('docker', ['build', '--network', 'none', ctx]), await on('berth', ['build', '--network', 'none', ctx])];
    assert.equal(b.code, d.code, `${name}: exit code`);
    assert.equal(norm(b.stdout), norm(d.stdout), `${name}: stdout`);
    assert.equal(norm(b.stderr), norm(d.stderr), `${name}: stderr`);
  }
  const target = await Promise.all([on('docker', ['build', '--target', 'nope', join(dir, 'stages')]),
    on('berth', ['build', '--target', 'nope', join(dir, 'stages')])]);
  assert.equal(norm(target[1].stderr), norm(target[0].stderr));
  for (const e of ['docker', 'berth'] as const) {
    const ids = (await on(e, ['ps', '-aq'])).stdout.trim();
    if (ids) await on(e, ['rm', '-f', ...ids.split('\n')]);
  }
});

test('COPY/ADD corner cases, variables, users and volumes agree with dockerd', { skip }, async () => {
  const ctx = join(dir, 'corners-src');
  await mkdir(join(ctx, 'd/inner'), { recursive: true });
  await writeFile(join(ctx, 'd/inner/f'), 'f\n');
  await writeFile(join(ctx, 'exec.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await symlink('inner/f', join(ctx, 'd/link'));
  for (const [tool, ext] of [['gzip', 'tgz'], ['bzip2', 'tbz'], ['xz', 'txz']] as const) {
    assert.equal((await run('tar', ['-c', `--use-compress-program=${tool}`, '-f', join(ctx, `t.${ext}`), '-C', join(ctx, 'd'), '.'])).code, 0);
  }
  const files: Record<string, string> = {
    Dockerfile: [
      'FROM busybox',
      'ENV A=1 B=$A C=${A}-x',
      'ENV D=$A',
      'ARG PORTS="80 443"',
      'EXPOSE $PORTS',
      'WORKDIR /w/$A',
      'COPY d .',
      'COPY d/ /copied-slash',
      'COPY d /copied-noslash',
      'COPY exec.sh d/inner/f /many/',
      'COPY exec.sh /w/renamed.sh',
      'COPY d/* /wild/',
      'ADD t.tgz /x/gz/',
      'ADD t.tbz /x/bz/',
      'ADD t.txz /x/xz',
      'RUN mkdir -p /vol && echo before > /vol/b',
      'VOLUME /vol',
      'RUN echo after > /vol/a && echo outside > /out',
      'USER 1000:1000',
      'RUN id -u > /tmp/uid',
      'USER 0',
      'ENTRYPOINT echo entry',
      'CMD ["ignored?"]',
      'LABEL multi="line \\',
      '  continued" empty=""',
      '',
    ].join('\n'),
  };
  await compare('corners', files, ['--build-arg', 'HTTP_PROXY=http://127.0.0.1:9', '--build-arg', 'PORTS=8080'],
    ['/w', '/copied-slash', '/copied-noslash', '/many', '/wild', '/x', '/vol', '/out', '/tmp/uid'], ctx);
  // The anonymous volumes of RUN containers go with them.
  assert.equal((await on('berth', ['volume', 'ls', '-q'])).stdout, '');
});

test('SHELL, HEALTHCHECK options, signals, build args in RUN, quiet and label options agree with dockerd', { skip }, async () => {
  await compare('misc', {
    Dockerfile: [
      'FROM busybox',
      'ARG WHO=nobody',
      'ARG EMPTY',
      'ENV WHO=env-wins',
      'RUN echo $WHO > /who',
      'ARG LATE=late',
      'RUN echo $LATE $EMPTY > /late',
      'SHELL ["/bin/sh", "-ec"]',
      'RUN echo traced',
      'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --retries=7 CMD ["/bin/true"]',
      'STOPSIGNAL 9',
      'CMD echo shell form',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["exec form"]',
      'ONBUILD ADD . /app',
      'ONBUILD RUN ls /app',
      '',
    ].join('\n'),
  }, ['--build-arg', 'LATE=given', '--build-arg', 'HTTPS_PROXY=http://127.0.0.1:9', '--label', 'z=1', '--label', 'a=2'], ['/who', '/late']);
  const q = await both(['build', '-q', '--network', 'none', join(dir, 'misc')]);
  assert.equal(norm(q.berth), norm(q.docker));
  await compare('misc-child', { Dockerfile: 'FROM misc:ref\n', 'f.txt': 'f\n' }, [], ['/app']);
});

test('parser directives, FROM --platform and --platform agree with dockerd', { skip }, async () => {
  await compare('directives', {
    Dockerfile: [
      '# syntax=docker/dockerfile:1',
      '# escape=`',
      'FROM --platform=linux/amd64 busybox',
      'RUN echo one `',
      '  two > /joined',
      'ENV WIN=C:\\path\\dir',
      'COPY ["a b.txt", "/spaced/"]',
      '',
    ].join('\n'),
    'a b.txt': 'spaces\n',
  }, ['--platform', 'linux/amd64'], ['/joined', '/spaced']);
  // COPY first on scratch, then config steps and WORKDIR. (A config step as the very first step
  // on scratch is where berthd differs: dockerd makes a container with no image for it and
  // prints "Running in"; berthd commits the config with no container.)
  await compare('scratchsteps', {
    Dockerfile: 'FROM busybox AS bb\nFROM scratch\nCOPY a /a\nENV A=1\nWORKDIR /x/y\nLABEL l=1\nCOPY --from=bb /bin/busybox /bin/busybox\n',
    a: 'a\n',
  }, [], ['/a', '/x']);
});

test('remote contexts and ADD of a URL (served on loopback) agree with dockerd', { skip }, async () => {
  const tarDir = join(dir, 'remote-tar');
  await mkdir(tarDir, { recursive: true });
  await writeFile(join(tarDir, 'Dockerfile'), 'FROM busybox\nCOPY p.txt /p.txt\n');
  await writeFile(join(tarDir, 'p.txt'), 'p\n');
  assert.equal((await run('tar', ['-czf', join(dir, 'remote.tgz'), '-C', tarDir, '.'])).code, 0);
  const server = createServer((req, res) => {
    const headers = { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' };
    if (req.url === '/Dockerfile') res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' }).end('FROM busybox\nRUN echo remote > /r\n');
    else if (req.url === '/ctx.tgz') void readFile(join(dir, 'remote.tgz')).then((b) => res.writeHead(200, { ...headers, 'Content-Type': 'application/gzip' }).end(b));
    else if (req.url === '/files/data.txt') res.writeHead(200, headers).end('data\n');
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const url of [`${base}/Dockerfile`, `${base}/ctx.tgz`]) {
      const out = await both(['build', '--network', 'none', url]);
      assert.equal(norm(out.berth), norm(out.docker), url);
    }
    const ctx = join(dir, 'addurl');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nADD ${base}/files/data.txt /d/\n`);
    const out = await both(['build', '--network', 'none', '-t', 'addurl:ref', ctx]);
    assert.equal(norm(out.berth), norm(out.docker));
    const missing = await Promise.all([on('docker', ['build', `${base}/nothing`]), on('berth', ['build', `${base}/nothing`])]);
    assert.equal(norm(missing[1].stderr), norm(missing[0].stderr));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('the raw /build stream (messages, aux, errors, statuses) agrees with dockerd', { skip }, async () => {
  const ctx = join(dir, 'raw');
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'f'), 'f\n');
  const tars: Record<string, string> = {
    ok: 'FROM busybox\nENV A=1\nCOPY f /f\n',
    parse: 'FROM busybox\nBOGUS x\n',
    failing: 'FROM busybox\nRUN exit 5\n',
  };
  for (const [name, dockerfile] of Object.entries(tars)) {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const tar = join(dir, `raw-${name}.tar`);
    assert.equal((await run('tar', ['-cf', tar, '-C', ctx, '.'])).code, 0);
    for (const query of ['t=raw:1&networkmode=none', 'q=1&networkmode=none', 'networkmode=none&forcerm=1', 't=Bad:tag', 't=a@sha256:' + '0'.repeat(64),
      'target=nothere']) {
      const get = (sock: string) => run('curl', ['-sS', '--unix-socket', sock, '-w', '\n%{http_code}', '-H', 'Content-Type: application/x-tar',
        '--data-binary', `@${tar}`, `http://localhost/v1.41/build?${query}`]);
      const [d, b] = [await get(dockerSock), await get(berth.socket)];
      assert.equal(norm(b.stdout), norm(d.stdout), `${name} ${query}`);
    }
  }
  // A context without its Dockerfile, and a Dockerfile named in lower case.
  const bare = join(dir, 'raw-bare');
  await mkdir(bare, { recursive: true });
  await writeFile(join(bare, 'f'), 'f\n');
  assert.equal((await run('tar', ['-cf', join(dir, 'raw-bare.tar'), '-C', bare, '.'])).code, 0);
  await writeFile(join(bare, 'dockerfile'), 'FROM busybox\nENV LOWER=1\n');
  assert.equal((await run('tar', ['-cf', join(dir, 'raw-lower.tar'), '-C', bare, '.'])).code, 0);
  for (const [tar, query] of [['raw-bare.tar', ''], ['raw-bare.tar', 'dockerfile=sub/Other'], ['raw-lower.tar', 'networkmode=none']]) {
    const get = (sock: string) => run('curl', ['-sS', '--unix-socket', sock, '-w', '\n%{http_code}', '-H', 'Content-Type: application/x-tar',
      '--data-binary', `@${join(dir, tar!)}`, `http://localhost/v1.41/build?${query}`]);
    const [d, b] = [await get(dockerSock), await get(berth.socket)];
    assert.equal(norm(b.stdout), norm(d.stdout), `${tar} ${query}`);
  }
  for (const e of ['docker', 'berth'] as const) {
    const ids = (await on(e, ['ps', '-aq'])).stdout.trim();
    if (ids) await on(e, ['rm', '-f', ...ids.split('\n')]);
  }
});
