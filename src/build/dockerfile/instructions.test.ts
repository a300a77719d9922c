import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './parser.js';
import {
  expandFrom, expandInstruction, parseGoDuration, parseStages, selectTarget, type Instruction,
} from './instructions.js';
import { ShellLex } from './shell-lex.js';

const stages = (text: string) => parseStages(parseDockerfile(text));
const only = (line: string): Instruction => {
  const s = stages(`FROM a\n${line}\n`).stages[0]!;
  assert.equal(s.commands.length, 1);
  return s.commands[0]!;
};
const strip = (i: Instruction) => {
  const { original: _o, startLine: _s, endLine: _e, ...rest } = i;
  return rest;
};
const fails = (line: string, reason: string, lineNo = 2) =>
  assert.throws(() => stages(`FROM a\n${line}\n`), {
    name: 'DockerfileParseError',
    message: `dockerfile parse error line ${lineNo}: ${reason}`,
  }, line);

test('stages: names, indexes, --platform, meta args before the first FROM', () => {
  const df = stages(
    'ARG BASE=busybox\nARG TAG\nFROM --platform=linux/amd64 $BASE:${TAG:-latest} AS Build\nRUN x\nfrom scratch\nCOPY --from=build /a /b\n',
  );
  assert.deepEqual(df.metaArgs.map((a) => a.args), [[{ key: 'BASE', value: 'busybox' }], [{ key: 'TAG' }]]);
  assert.deepEqual(df.stages.map((s) => [s.index, s.name, s.baseName, s.platform, s.commands.length, s.startLine]), [
    [0, 'build', '$BASE:${TAG:-latest}', 'linux/amd64', 1, 3],
    [1, '', 'scratch', '', 1, 5],
  ]);
  const lex = new ShellLex();
  const meta = ['BASE=busybox'];
  assert.deepEqual(expandFrom(df.stages[0]!, lex, meta), {
    baseName: 'busybox:latest',
    platform: 'linux/amd64',
  });
  assert.throws(() => expandFrom(stages('FROM $NOTHING\n').stages[0]!, lex, []), {
    name: 'InvalidParameter',
    message: 'base name ($NOTHING) should not be blank',
  });
});

test('FROM errors and instructions before FROM', () => {
  assert.throws(() => stages('FROM a b\n'), { message: 'dockerfile parse error line 1: FROM requires either one or three arguments' });
  assert.throws(() => stages('FROM\n'), { message: 'dockerfile parse error line 1: FROM requires either one or three arguments' });
  assert.throws(() => stages('FROM a AS 1x\n'), {
    message: 'dockerfile parse error line 1: invalid name for build stage: "1x", name can\'t start with a number or contain symbols',
  });
  assert.throws(() => stages('FROM --platform a\n'), { message: 'dockerfile parse error line 1: Missing a value on flag: platform' });
  assert.throws(() => stages('# c\nRUN x\nFROM a\n'), { name: 'DockerfileParseError', message: 'no build stage in current context' });
});

test('unknown instructions are named with their line, upper-cased', () => {
  assert.throws(() => stages('FROM a\nRUN x\n\nfoo bar\n'), {
    name: 'DockerfileParseError',
    message: 'dockerfile parse error line 4: unknown instruction: FOO',
  });
  const e = (() => {
    try {
      stages('FROM a\nRUN a \\\n b\nBOGUS\n');
    } catch (err) {
      return err as { line: number };
    }
    return undefined;
  })();
  assert.equal(e?.line, 4);
});

test('RUN, CMD, ENTRYPOINT: exec form or shell form', () => {
  assert.deepEqual(strip(only('RUN ["/bin/sh", "-c", "echo hi"]')), { kind: 'RUN', cmdLine: ['/bin/sh', '-c', 'echo hi'], prependShell: false });
  assert.deepEqual(strip(only('CMD echo  $HOME "x"')), { kind: 'CMD', cmdLine: ['echo  $HOME "x"'], prependShell: true });
  assert.deepEqual(strip(only('ENTRYPOINT []')), { kind: 'ENTRYPOINT', cmdLine: [], prependShell: false });
  // dockerd 20.10 parses --mount (buildkit v0.8's hook) and refuses it only when the step runs.
  assert.deepEqual(strip(only('RUN --mount=type=cache,target=/x echo')), { kind: 'RUN', cmdLine: ['echo'], prependShell: true, flagsUsed: ['mount'] });
  fails('RUN --nope=1 echo', 'Unknown flag: nope');
});

test('ENV and LABEL pairs, both forms, and their errors', () => {
  assert.deepEqual(strip(only('ENV A=1 B="x y"')), { kind: 'ENV', env: [{ key: 'A', value: '1' }, { key: 'B', value: '"x y"' }] });
  assert.deepEqual(strip(only('ENV A x y')), { kind: 'ENV', env: [{ key: 'A', value: 'x y' }] });
  assert.deepEqual(strip(only('LABEL "com.x"="a b" c=d')), {
    kind: 'LABEL', labels: [{ key: '"com.x"', value: '"a b"' }, { key: 'c', value: 'd' }],
  });
  fails('ENV', 'ENV requires at least one argument');
  fails('LABEL =x', 'LABEL names can not be blank');
});

test('ARG, USER, WORKDIR, STOPSIGNAL, MAINTAINER, EXPOSE, VOLUME', () => {
  assert.deepEqual(strip(only('ARG v=1=2')), { kind: 'ARG', args: [{ key: 'v', value: '1=2' }] });
  assert.deepEqual(strip(only('ARG v= w x="a b"')), {
    kind: 'ARG', args: [{ key: 'v', value: '' }, { key: 'w' }, { key: 'x', value: '"a b"' }],
  });
  fails('ARG', 'ARG requires at least one argument');
  fails('ARG =x', 'ARG names can not be blank');
  assert.deepEqual(strip(only('USER 1000:1000')), { kind: 'USER', user: '1000:1000' });
  fails('USER', 'USER requires exactly one argument');
  assert.deepEqual(strip(only('WORKDIR /a b')), { kind: 'WORKDIR', path: '/a b' });
  fails('WORKDIR', 'WORKDIR requires exactly one argument');
  assert.deepEqual(strip(only('STOPSIGNAL SIGKILL')), { kind: 'STOPSIGNAL', signal: 'SIGKILL' });
  assert.deepEqual(strip(only('MAINTAINER Jo <jo@x>')), { kind: 'MAINTAINER', maintainer: 'Jo <jo@x>' });
  assert.deepEqual(strip(only('EXPOSE 80/tcp 443 53/udp')), { kind: 'EXPOSE', ports: ['443', '53/udp', '80/tcp'] });
  fails('EXPOSE', 'EXPOSE requires at least one argument');
  assert.deepEqual(strip(only('VOLUME /a /b')), { kind: 'VOLUME', volumes: ['/a', '/b'] });
  assert.deepEqual(strip(only('VOLUME ["/c d"]')), { kind: 'VOLUME', volumes: ['/c d'] });
  fails('VOLUME [" "]', 'VOLUME specified can not be an empty string');
  fails('VOLUME', 'VOLUME requires at least one argument');
});

test('COPY and ADD with their flags', () => {
  assert.deepEqual(strip(only('COPY --from=build --chown=1:2 a b /dst/')), {
    kind: 'COPY', sources: ['a', 'b'], dest: '/dst/', from: 'build', chown: '1:2', chmod: '',
  });
  assert.deepEqual(strip(only('ADD ["a b", "/x"]')), { kind: 'ADD', sources: ['a b'], dest: '/x', chown: '', chmod: '' });
  fails('COPY a', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined.');
  fails('ADD --from=x a b', 'Unknown flag: from');
  fails('COPY --from=a --from=b x y', 'Duplicate flag specified: from');
});

test('ONBUILD refuses FROM, MAINTAINER and ONBUILD; keeps the expression as written', () => {
  assert.deepEqual(strip(only('onbuild  RUN echo "$X"')), { kind: 'ONBUILD', expression: 'RUN echo "$X"' });
  fails('ONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  fails('ONBUILD from x', "FROM isn't allowed as an ONBUILD trigger");
  fails('ONBUILD MAINTAINER x', "MAINTAINER isn't allowed as an ONBUILD trigger");
  fails('ONBUILD', 'ONBUILD requires at least one argument');
});

test('HEALTHCHECK NONE, CMD with options, and its errors', () => {
  assert.deepEqual(strip(only('HEALTHCHECK NONE')), { kind: 'HEALTHCHECK', health: { Test: ['NONE'] } });
  assert.deepEqual(strip(only('HEALTHCHECK --interval=5s --timeout=1m30s --start-period=1.5s --retries=3 CMD curl -f x')), {
    kind: 'HEALTHCHECK',
    health: { Test: ['CMD-SHELL', 'curl -f x'], Interval: 5e9, Timeout: 90e9, StartPeriod: 1.5e9, Retries: 3 },
  });
  assert.deepEqual(strip(only('HEALTHCHECK cmd ["true"]')), {
    kind: 'HEALTHCHECK', health: { Test: ['CMD', 'true'], Interval: 0, Timeout: 0, StartPeriod: 0, Retries: 0 },
  });
  fails('HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments');
  fails('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD');
  fails('HEALTHCHECK RUN x', 'Unknown type "RUN" in HEALTHCHECK (try CMD)');
  fails('HEALTHCHECK --interval=0s CMD x', 'Interval "interval" cannot be less than 1ms');
  fails('HEALTHCHECK --timeout=5 CMD x', 'time: missing unit in duration "5"');
  fails('HEALTHCHECK --retries=0 CMD x', '--retries must be at least 1 (not 0)');
  fails('HEALTHCHECK --retries=x CMD x', 'strconv.ParseInt: parsing "x": invalid syntax');
  fails('HEALTHCHECK --foo=1 CMD x', 'Unknown flag: foo');
  fails('HEALTHCHECK', 'HEALTHCHECK requires at least one argument');
});

test('SHELL takes JSON only', () => {
  assert.deepEqual(strip(only('SHELL ["/bin/sh", "-c"]')), { kind: 'SHELL', shell: ['/bin/sh', '-c'] });
  fails('SHELL /bin/sh -c', 'SHELL requires the arguments to be in JSON form');
  fails('SHELL []', 'SHELL requires at least one argument');
});

test('--target keeps the stages up to the named one', () => {
  const df = stages('FROM a AS one\nFROM b AS Two\nFROM c\n').stages;
  assert.deepEqual(selectTarget(df, 'two').map((s) => s.name), ['one', 'two']);
  assert.deepEqual(selectTarget(df, 'TWO').map((s) => s.name), ['one', 'two']);
  assert.equal(selectTarget(df, '').length, 3);
  assert.throws(() => selectTarget(df, 'nope'), { name: 'InvalidParameter', message: 'failed to reach build target nope in Dockerfile' });
});

test('expandInstruction substitutes only where the builder does', () => {
  const lex = new ShellLex();
  const env = ['D=/data', 'U=app', 'P=8080', 'PORTS=80  443/udp'];
  const e = (line: string) => strip(expandInstruction(only(line), lex, env));
  assert.deepEqual(e('ENV ${U}_HOME="$D/x y"'), { kind: 'ENV', env: [{ key: 'app_HOME', value: '/data/x y' }] });
  assert.deepEqual(e('COPY --chown=$U:$U "$D/a" ${D}/'), {
    kind: 'COPY', sources: ['/data/a'], dest: '/data/', from: '', chown: 'app:app', chmod: '',
  });
  // The shell form splits on whitespace before quotes are looked at, as dockerd does.
  assert.throws(() => e('COPY "$D/a b" /x'), {
    name: 'InvalidParameter',
    message: 'failed to process "\\"$D/a": unexpected end of statement while looking for matching double-quote',
  });
  assert.deepEqual(e('COPY ["$D/a b", "${D}/"]'), { kind: 'COPY', sources: ['/data/a b'], dest: '/data/', from: '', chown: '', chmod: '' });
  assert.deepEqual(e('WORKDIR $D/w'), { kind: 'WORKDIR', path: '/data/w' });
  assert.deepEqual(e('EXPOSE $P/tcp'), { kind: 'EXPOSE', ports: ['8080/tcp'] });
  assert.deepEqual(e('EXPOSE $PORTS 22'), { kind: 'EXPOSE', ports: ['80', '443/udp', '22'] });
  assert.deepEqual(e('VOLUME $D'), { kind: 'VOLUME', volumes: ['/data'] });
  assert.deepEqual(e('USER $U'), { kind: 'USER', user: 'app' });
  assert.deepEqual(e('LABEL k=$U'), { kind: 'LABEL', labels: [{ key: 'k', value: 'app' }] });
  assert.deepEqual(e('ARG X=$D ${U}_Y'), { kind: 'ARG', args: [{ key: 'X', value: '/data' }, { key: 'app_Y' }] });
  assert.deepEqual(e('STOPSIGNAL ${S:-SIGTERM}'), { kind: 'STOPSIGNAL', signal: 'SIGTERM' });
  assert.deepEqual(e('RUN echo $D'), { kind: 'RUN', cmdLine: ['echo $D'], prependShell: true });
  assert.deepEqual(e('ONBUILD COPY $D /x'), { kind: 'ONBUILD', expression: 'COPY $D /x' });
});

test('Go durations', () => {
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('1h2m3s'), 3723e9);
  assert.equal(parseGoDuration('.5s'), 5e8);
  assert.equal(parseGoDuration('-2ms'), -2e6);
  assert.equal(parseGoDuration('300us'), 3e5);
  assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration('1x'), { message: 'time: unknown unit "x" in duration "1x"' });
  assert.throws(() => parseGoDuration('s'), { message: 'time: invalid duration "s"' });
});
