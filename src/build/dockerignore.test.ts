import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PatternMatcher, buildFilesToRemove, cleanPath, keepBuildFiles, matches, readDockerignore,
} from './dockerignore.js';

test('reading .dockerignore: comments, blanks, cleaning, leading slash, exceptions', () => {
  const text = '\ufeff# comment\n\n  *.log  \r\n/abs/path/\n!  keep.log\n ./a/../b//c/\n  # not a comment\n!/x\n!\n/\n';
  assert.deepEqual(readDockerignore(text), [
    '*.log', 'abs/path', '!keep.log', 'b/c', '# not a comment', '!x', '!', '/',
  ]);
  assert.deepEqual(readDockerignore(Buffer.from('')), []);
});

test('cleanPath is Go filepath.Clean', () => {
  assert.equal(cleanPath(''), '.');
  assert.equal(cleanPath('a//b/./c/..'), 'a/b');
  assert.equal(cleanPath('/../x/'), '/x');
  assert.equal(cleanPath('../a'), '../a');
  assert.equal(cleanPath('a/'), 'a');
});

test('Go filepath.Match semantics: * and ? stay within one path element', () => {
  assert.equal(matches('foo.txt', ['*.txt']), true);
  assert.equal(matches('dir/foo.txt', ['*.txt']), false, '* does not cross /');
  assert.equal(matches('dir/foo.txt', ['*/*.txt']), true);
  assert.equal(matches('a.go', ['?.go']), true);
  assert.equal(matches('ab.go', ['?.go']), false);
  assert.equal(matches('fileutils.go', ['fileutils.go']), true);
  assert.equal(matches('fileutilsXgo', ['fileutils.go']), false, '. is literal');
  assert.equal(matches('a$b', ['a$b']), true, '$ is literal');
  assert.equal(matches('b', ['[a-c]']), true);
  assert.equal(matches('d', ['[a-c]']), false);
  assert.equal(matches('d', ['[^a-c]']), true);
  assert.equal(matches('*', ['\\*']), true, 'an escaped * is literal');
  assert.equal(matches('x', ['\\*']), false);
});

test('a pattern matching a parent directory excludes everything under it', () => {
  assert.equal(matches('docs/a/b.md', ['docs']), true);
  assert.equal(matches('docs', ['docs']), true);
  assert.equal(matches('docsx/a', ['docs']), false);
  assert.equal(matches('a/b/c/d', ['a/*']), true);
  assert.equal(matches('a/b/c', ['*/b']), true);
  assert.equal(matches('x/a/b', ['a']), false, 'patterns are anchored at the context root');
});

test('** matches any number of directories, including none', () => {
  assert.equal(matches('a/b/c/x.go', ['**/*.go']), true);
  assert.equal(matches('x.go', ['**/*.go']), true);
  assert.equal(matches('a/x/y/b', ['a/**/b']), true);
  assert.equal(matches('a/b', ['a/**/b']), true);
  assert.equal(matches('a/anything/here', ['a/**']), true);
  assert.equal(matches('anything', ['**']), true);
  assert.equal(matches('.git', ['**/.git']), true);
  assert.equal(matches('a/.git/x', ['**/.git']), true);
  // As in dockerd, the parent check needs as many parent directories as the pattern has
  // elements: a walker excludes `.git` itself and so never reaches `.git/config`.
  assert.equal(matches('.git/config', ['**/.git']), false);
});

test('exceptions: the last matching pattern wins', () => {
  const pats = ['*.md', '!README.md', 'docs', '!docs/keep.md'];
  const m = new PatternMatcher(pats);
  assert.equal(m.exclusions, true);
  assert.equal(m.matches('CHANGES.md'), true);
  assert.equal(m.matches('README.md'), false);
  assert.equal(m.matches('docs/other.txt'), true);
  assert.equal(m.matches('docs/keep.md'), false);
  assert.equal(m.matches('src/x.ts'), false);
  assert.equal(new PatternMatcher(['!README.md', '*.md']).matches('README.md'), true);
  assert.equal(new PatternMatcher(['*.md']).exclusions, false);
  assert.equal(matches('.', ['*']), false, 'the root itself is never excluded');
  assert.equal(matches('./a', ['a']), true);
  assert.equal(matches('a/b', ['*', '!/a/./b']), false, 'an exception given directly is cleaned too');
});

test('bad patterns are refused with dockerd\'s words', () => {
  assert.throws(() => new PatternMatcher(['!']), { name: 'InvalidParameter', message: 'illegal exclusion pattern: "!"' });
  for (const bad of ['[', '[]', '[^]', 'a[-b]', '[a-]', 'x\\', '[a']) {
    assert.throws(() => new PatternMatcher([bad]), { name: 'InvalidParameter', message: 'syntax error in pattern' }, bad);
  }
  assert.doesNotThrow(() => new PatternMatcher(['[\\]]', '[a\\-z]', '   ']));
  assert.equal(matches(']', ['[\\]]']), true);
});

test('the Dockerfile and .dockerignore are always sent, and then kept out of the context', () => {
  assert.deepEqual(keepBuildFiles(['*'], 'Dockerfile'), ['*', '!.dockerignore', '!Dockerfile']);
  assert.deepEqual(keepBuildFiles(['build'], 'build/Dockerfile.dev'), ['build', '!build/Dockerfile.dev']);
  assert.deepEqual(keepBuildFiles(['*.txt'], 'Dockerfile'), ['*.txt']);
  assert.deepEqual(keepBuildFiles(['*'], 'Dockerfile', true), ['*', '!.dockerignore']);
  const sent = keepBuildFiles(['*', '!src'], 'Dockerfile');
  assert.equal(matches('Dockerfile', sent), false);
  assert.equal(matches('.dockerignore', sent), false);
  assert.equal(matches('other', sent), true);
  // The daemon removes them from the context when the original patterns exclude them.
  assert.deepEqual(buildFilesToRemove(['*', '!src'], 'Dockerfile'), ['.dockerignore', 'Dockerfile']);
  assert.deepEqual(buildFilesToRemove(['.dockerignore'], 'Dockerfile'), ['.dockerignore']);
  assert.deepEqual(buildFilesToRemove(['tmp'], 'Dockerfile'), []);
  assert.deepEqual(buildFilesToRemove(['!'], 'Dockerfile'), [], 'a bad pattern removes nothing');
});
