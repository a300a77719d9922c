import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShellLex, expandFrom, expandInstruction, loadDockerfile } from './index.js';

const DOCKERFILE = `# syntax=docker/dockerfile:1
# escape=\`
ARG BASE=busybox
FROM $BASE AS build
ENV DIR=/src
WORKDIR $DIR
COPY . .
RUN echo built > out \`
  && true

FROM \${BASE}
COPY --from=build /src/out /out
CMD ["cat", "/out"]
`;

test('loadDockerfile: stages, meta args, escape token and target together', () => {
  const df = loadDockerfile(DOCKERFILE);
  assert.equal(df.escapeToken, '`');
  assert.equal(df.syntax, 'docker/dockerfile:1');
  assert.equal(df.stages.length, 2);
  assert.deepEqual(df.stages[0]!.commands.map((c) => c.kind), ['ENV', 'WORKDIR', 'COPY', 'RUN']);
  assert.deepEqual(df.stages[0]!.commands[3], {
    kind: 'RUN', cmdLine: ['echo built > out   && true'], prependShell: true,
    original: 'RUN echo built > out   && true', startLine: 8, endLine: 9,
  });
  const lex = new ShellLex(df.escapeToken);
  const meta = df.metaArgs.flatMap((a) => a.args).map((a) => `${a.key}=${a.value ?? ''}`);
  assert.equal(expandFrom(df.stages[1]!, lex, meta).baseName, 'busybox');
  const workdir = expandInstruction(df.stages[0]!.commands[1]!, lex, ['DIR=/src']);
  assert.equal(workdir.kind === 'WORKDIR' && workdir.path, '/src');

  assert.equal(loadDockerfile(DOCKERFILE, 'Dockerfile', 'BUILD').stages.length, 1);
  assert.throws(() => loadDockerfile(DOCKERFILE, 'Dockerfile', 'test'), {
    name: 'InvalidParameter',
    message: 'failed to reach build target test in Dockerfile',
  });
});

test('loadDockerfile reports errors before anything runs, with the line', () => {
  assert.throws(() => loadDockerfile('FROM busybox\nRUN true\nCOPPY a b\n'), {
    message: 'dockerfile parse error line 3: unknown instruction: COPPY',
  });
  assert.throws(() => loadDockerfile('', 'Dockerfile.ci'), { message: 'the Dockerfile (Dockerfile.ci) cannot be empty' });
});
