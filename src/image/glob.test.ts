import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathMatch } from './glob.js';

test('pathMatch follows Go path.Match', () => {
  const cases: Array<[string, string, boolean]> = [
    ['busybox', 'busybox', true], ['busy*', 'busybox:latest', true], ['*', 'a/b', false],
    ['*/*', 'foo/bar:1', true], ['busybox:?atest', 'busybox:latest', true], ['[a-c]*', 'busybox', true],
    ['[^a-c]*', 'busybox', false], ['[!x]usybox', 'busybox', true], ['a\\*b', 'a*b', true], ['a\\*b', 'axb', false],
    ['x.y', 'xzy', false],
  ];
  for (const [p, n, want] of cases) assert.equal(pathMatch(p, n), want, `${p} ~ ${n}`);
  assert.throws(() => pathMatch('[abc', 'a'));
  assert.throws(() => pathMatch('abc\\', 'a'));
});
