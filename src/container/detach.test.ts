import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachScanner, parseDetachKeys } from './detach.js';

test('detach keys parse as dockerd spells them', () => {
  assert.deepEqual(parseDetachKeys(''), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 120]);
  assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,ctrl-_'), [0, 27, 31]);
  for (const bad of ['ctrl-', 'ctrl-1', 'ab', 'ctrl-pq', ',']) {
    assert.throws(() => parseDetachKeys(bad), { message: `Invalid detach keys (${bad}) provided` });
  }
});

test('the scanner passes ordinary input and stops at the sequence, across chunks', () => {
  const s = new DetachScanner([16, 17]);
  assert.deepEqual(s.push(Buffer.from('ls\n')), { pass: Buffer.from('ls\n'), detach: false });
  assert.deepEqual(s.push(Buffer.from([97, 16])), { pass: Buffer.from([97]), detach: false });
  assert.deepEqual(s.push(Buffer.from([17, 98])), { pass: Buffer.alloc(0), detach: true });
});

test('a broken-off sequence is written on, and may restart on the same byte', () => {
  const s = new DetachScanner([16, 17]);
  assert.deepEqual(s.push(Buffer.from([16, 120])), { pass: Buffer.from([16, 120]), detach: false });
  assert.deepEqual(s.push(Buffer.from([16, 16, 17])), { pass: Buffer.from([16]), detach: true });
});
