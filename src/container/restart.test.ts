import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartManager } from './restart.js';

test('no never restarts; always does; unless-stopped does unless stopped by hand', () => {
  assert.equal(new RestartManager({ Name: 'no', MaximumRetryCount: 0 }).shouldRestart(1, false, 0, 0).restart, false);
  const always = new RestartManager({ Name: 'always', MaximumRetryCount: 0 });
  assert.equal(always.shouldRestart(0, false, 0, 0).restart, true);
  assert.equal(always.shouldRestart(0, true, 0, 1).restart, true, 'a daemon restart brings always back');
  const unless = new RestartManager({ Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.equal(unless.shouldRestart(0, false, 0, 0).restart, true);
  assert.equal(unless.shouldRestart(0, true, 0, 0).restart, false);
});

test('on-failure restarts failures only, up to its count', () => {
  const m = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(m.shouldRestart(0, false, 0, 0).restart, false);
  assert.deepEqual([0, 1, 2, 3].map((n) => m.shouldRestart(1, false, 0, n).restart), [true, true, true, false]);
  assert.equal(new RestartManager({ Name: 'on-failure', MaximumRetryCount: 0 }).shouldRestart(2, false, 0, 99).restart, true);
});

test('the delay doubles from 100 ms to a minute, and resets after a run of ten seconds', () => {
  const m = new RestartManager({ Name: 'always', MaximumRetryCount: 0 });
  const delays = Array.from({ length: 12 }, () => m.shouldRestart(0, false, 50, 0).delayMs);
  assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 800]);
  assert.equal(delays[11], 60_000);
  assert.equal(m.shouldRestart(0, false, 10_000, 0).delayMs, 100);
});

test('cancel ends a pending wait with false and stops later restarts', async () => {
  const m = new RestartManager({ Name: 'always', MaximumRetryCount: 0 });
  const waiting = m.wait(10_000);
  m.cancel();
  assert.equal(await waiting, false);
  assert.equal(m.shouldRestart(0, false, 0, 0).restart, false);
});
