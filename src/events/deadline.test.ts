import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { atTime } from './deadline.js';

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

test('fires at once for a time already past', () => {
  let fired = 0;
  atTime(nowNs() - 1n, () => fired++);
  assert.equal(fired, 1);
});

test('fires not before the time, and cancel stops it', async () => {
  const at = nowNs() + 30_000_000n;
  let firedAt = 0n;
  atTime(at, () => (firedAt = nowNs()));
  let other = false;
  const cancel = atTime(at, () => (other = true));
  cancel();
  await sleep(80);
  assert.ok(firedAt >= at, 'fired early or not at all');
  assert.equal(other, false);
});

test('a time beyond the 24.8-day setTimeout limit does not fire early', async () => {
  let fired = false;
  const cancel = atTime(nowNs() + 40n * 86_400n * 1_000_000_000n, () => (fired = true));
  await sleep(20);
  assert.equal(fired, false);
  cancel();
});
