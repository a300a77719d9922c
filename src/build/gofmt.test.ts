import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goDuration, goQuoteList, goRune } from './gofmt.js';

test('time.Duration.String()', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'], [1, '1ns'], [1500, '1.5µs'], [500e6, '500ms'], [1.5e9, '1.5s'], [5e9, '5s'],
    [90e9, '1m30s'], [3600e9, '1h0m0s'], [3661e9, '1h1m1s'], [60e9, '1m0s'], [-2e9, '-2s'],
  ];
  for (const [ns, s] of cases) assert.equal(goDuration(ns), s, String(ns));
});

test('%q of a string list and of a rune', () => {
  assert.equal(goQuoteList(['/bin/sh', '-c', 'echo "hi"']), '["/bin/sh" "-c" "echo \\"hi\\""]');
  assert.equal(goQuoteList(null), '[]');
  assert.equal(goRune(0), '\\x00');
  assert.equal(goRune(3), '\\x03');
  assert.equal(goRune(7), '\\a');
  assert.equal(goRune(10), '\\n');
  assert.equal(goRune(65), 'A');
  assert.equal(goRune(39), "\\'");
});
