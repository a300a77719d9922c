import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from './ring.js';

test('a ring keeps the newest items up to its capacity, oldest first', () => {
  const r = new Ring<number>(3);
  assert.deepEqual([...r], []);
  r.push(1);
  r.push(2);
  assert.deepEqual([...r], [1, 2]);
  r.push(3);
  r.push(4);
  r.push(5);
  assert.deepEqual([...r], [3, 4, 5]);
  assert.equal(r.size, 3);
  assert.throws(() => new Ring(0), RangeError);
});
