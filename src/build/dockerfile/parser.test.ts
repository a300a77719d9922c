import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileParseError, parseDockerfile, parseWords } from './parser.js';
import { InvalidParameter } from '../../lib/errors.js';

const brief = (text: string) =>
  parseDockerfile(text).nodes.map((n) => [n.cmd, n.args, n.json, n.startLine, n.endLine]);

test('instructions are case-insensitive and keep their line numbers', () => {
  const r = parseDockerfile('from busybox\n\nRun echo hi\n  cMd ["sh"]\n');
  assert.deepEqual(r.nodes.map((n) => [n.cmd, n.startLine, n.endLine]), [
    ['from', 1, 1],
    ['run', 3, 3],
    ['cmd', 4, 4],
  ]);
  assert.equal(r.escapeToken, '\\');
  assert.deepEqual(r.warnings, []);
});

test('an empty Dockerfile and one without instructions are refused as dockerd does', () => {
  assert.throws(() => parseDockerfile(''), {
    name: 'InvalidParameter',
    message: 'the Dockerfile (Dockerfile) cannot be empty',
  });
  assert.throws(() => parseDockerfile(Buffer.alloc(0), 'sub/Dockerfile.dev'), {
    message: 'the Dockerfile (sub/Dockerfile.dev) cannot be empty',
  });
  assert.throws(() => parseDockerfile('# just a comment\n\n   \n'), (err: unknown) => {
    assert.ok(err instanceof DockerfileParseError && err instanceof InvalidParameter);
    assert.equal(err.message, 'failed to parse Dockerfile: file with no instructions');
    return true;
  });
});

test('line continuations join lines; comments and blank lines inside are skipped', () => {
  const text = [
    'FROM busybox', // 1
    'RUN echo a \\', // 2
    '# a comment inside', // 3
    '    && echo b \\', // 4
    '', // 5
    '  && echo c', // 6
    'LABEL x=1', // 7
  ].join('\n');
  const r = parseDockerfile(text);
  const run = r.nodes[1]!;
  assert.equal(run.cmd, 'run');
  assert.deepEqual(run.args, ['echo a     && echo b   && echo c']);
  assert.equal(run.startLine, 2);
  assert.equal(run.endLine, 6);
  assert.equal(r.nodes[2]!.startLine, 7);
  assert.deepEqual(r.warnings, [
    '[WARNING]: Empty continuation line found in:\n    RUN echo a     && echo b   && echo c',
    '[WARNING]: Empty continuation lines will become errors in a future release.',
  ]);
});

test('an escaped escape character at the end of a line does not continue it', () => {
  assert.deepEqual(brief('RUN echo \\\\\nRUN b\n'), [
    ['run', ['echo \\\\'], false, 1, 1],
    ['run', ['b'], false, 2, 2],
  ]);
  // A lone escape on the last line makes an empty instruction, which dockerd then reports
  // as an unknown instruction.
  assert.deepEqual(brief('RUN a\n\\\n'), [['run', ['a'], false, 1, 1], ['', [], false, 2, 2]]);
  assert.deepEqual(brief('RUN a \\\n\\\nb\n'), [['run', ['a b'], false, 1, 3]]);
});

test('a continuation at the end of the file ends the instruction; CRLF and BOM are accepted', () => {
  assert.deepEqual(brief('\ufeffFROM a\r\nRUN x \\\r\n  y \\'), [
    ['from', ['a'], false, 1, 1],
    ['run', ['x   y'], false, 2, 3],
  ]);
});

test('parser directives: escape, syntax, only at the top, once', () => {
  const r = parseDockerfile('# escape=`\n# syntax=docker/dockerfile:1\nFROM a\nRUN dir c:\\ `\n  x\n');
  assert.equal(r.escapeToken, '`');
  assert.equal(r.syntax, 'docker/dockerfile:1');
  assert.deepEqual(r.nodes[1]!.args, ['dir c:\\   x']);
  // After a comment or a blank line, a directive is only a comment.
  for (const text of ['# hello\n# escape=`\nFROM a\nRUN x `\n', '\n# escape=`\nFROM a\nRUN x `\n']) {
    const p = parseDockerfile(text);
    assert.equal(p.escapeToken, '\\');
    assert.deepEqual(p.nodes[1]!.args, ['x `']);
  }
  // Unknown directives end the directive block.
  assert.equal(parseDockerfile('# foo=bar\n# escape=`\nFROM a\n').escapeToken, '\\');
  assert.equal(parseDockerfile('#ESCAPE = `\nFROM a\n').escapeToken, '`');
  assert.throws(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a\n'), {
    message: 'failed to parse Dockerfile: only one escape parser directive can be used',
  });
  assert.throws(() => parseDockerfile('# escape=x\nFROM a\n'), {
    message: "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\",
  });
});

test('JSON form versus shell form', () => {
  assert.deepEqual(brief('RUN ["echo", "a b"]\nRUN [ "x" ] trailing\nCMD [not json]\nENTRYPOINT []\n'), [
    ['run', ['echo', 'a b'], true, 1, 1],
    ['run', ['x'], true, 2, 2],
    ['cmd', ['[not json]'], false, 3, 3],
    ['entrypoint', [], true, 4, 4],
  ]);
  assert.deepEqual(brief("SHELL ['sh', '-c']\n"), [['shell', ["['sh', '-c']"], false, 1, 1]]);
  assert.throws(() => parseDockerfile('FROM a\nCMD ["a", 1]\n'), (err: unknown) => {
    assert.ok(err instanceof DockerfileParseError);
    assert.equal(err.line, 2);
    assert.match(err.message, /arrays must be comprised of strings only/);
    return true;
  });
});

test('COPY, ADD and VOLUME take a JSON list or whitespace-separated words', () => {
  assert.deepEqual(brief('COPY --from=build --chown="1:2" a  b /dst/\nVOLUME ["/a", "/b c"]\nADD x\ty\n'), [
    ['copy', ['a', 'b', '/dst/'], false, 1, 1],
    ['volume', ['/a', '/b c'], true, 2, 2],
    ['add', ['x', 'y'], false, 3, 3],
  ]);
  assert.deepEqual(parseDockerfile('COPY --from=build --chown="1:2" a b\n').nodes[0]!.flags, [
    '--from=build',
    '--chown=1:2',
  ]);
  // `--` ends the flags.
  const n = parseDockerfile('COPY -- --weird /x\n').nodes[0]!;
  assert.deepEqual(n.flags, []);
  assert.deepEqual(n.args, ['--weird', '/x']);
});

test('ENV and LABEL: name=value pairs and the legacy form', () => {
  assert.deepEqual(parseDockerfile('ENV a=1 b="two words" c=x\\ y\n').nodes[0]!.args, [
    'a', '1', 'b', '"two words"', 'c', 'x\\ y',
  ]);
  assert.deepEqual(parseDockerfile('ENV name  value with  spaces\n').nodes[0]!.args, [
    'name',
    'value with  spaces',
  ]);
  assert.throws(() => parseDockerfile('ENV onlyname\n'), {
    message: 'failed to parse Dockerfile: ENV must have two arguments',
  });
  assert.throws(() => parseDockerfile('LABEL a=1 b\n'), {
    message:
      'failed to parse Dockerfile: Syntax error - can\'t find = in "b". Must be of the form: name=value',
  });
  assert.deepEqual(parseDockerfile('ENV\n').nodes[0]!.args, []);
});

test('single-string instructions, HEALTHCHECK, ONBUILD and unknown instructions', () => {
  const r = parseDockerfile(
    'USER a b\nWORKDIR /x y\nHEALTHCHECK --interval=5s CMD ["true"]\nHEALTHCHECK NONE\nONBUILD RUN echo hi\nFOO bar\n',
  );
  assert.deepEqual(r.nodes.map((n) => [n.cmd, n.args, n.json]), [
    ['user', ['a b'], false],
    ['workdir', ['/x y'], false],
    ['healthcheck', ['CMD', 'true'], true],
    ['healthcheck', ['NONE'], false],
    ['onbuild', ['run', 'echo hi'], false],
    ['foo', [], false],
  ]);
  assert.deepEqual(r.nodes[2]!.flags, ['--interval=5s']);
  assert.equal(r.nodes[4]!.sub?.cmd, 'run');
});

test('parseWords keeps quotes and escapes, splits outside quotes', () => {
  assert.deepEqual(parseWords(`a "b c" 'd \\' e\\ f g\\`, '\\'), ['a', '"b c"', "'d \\'", 'e\\ f', 'g']);
  assert.deepEqual(parseWords('""  x', '\\'), ['""', 'x']);
  assert.deepEqual(parseWords('a` b', '`'), ['a` b']);
});
