import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, HealthMonitor, probeCommand, timings } from './health.js';
import type { Health } from '../types/container.js';

test('probe commands: CMD, CMD-SHELL with the shell, NONE and empty mean none', () => {
  assert.deepEqual(probeCommand({ Test: ['CMD', 'true', 'x'] }, null), ['true', 'x']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }, null), ['/bin/sh', '-c', 'exit 1']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'x'] }, ['/bin/bash', '-ec']), ['/bin/bash', '-ec', 'x']);
  assert.equal(probeCommand({ Test: ['NONE'] }, null), undefined);
  assert.equal(probeCommand({}, null), undefined);
  assert.equal(probeCommand(undefined, null), undefined);
});

test('zero durations take dockerd defaults', () => {
  assert.deepEqual(timings({}), { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 });
  assert.deepEqual(timings({ Interval: 2e9, Timeout: 5e8, StartPeriod: 1e9, Retries: 5 }), { intervalMs: 2000, timeoutMs: 500, startPeriodMs: 1000, retries: 5 });
  assert.equal(formatDuration(30_000), '30s');
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(90_000), '1m30s');
});

test('status moves starting → healthy → unhealthy after `retries` failures, keeping five results', () => {
  const changes: string[] = [];
  const m = new HealthMonitor(['x'], { Retries: 2 }, async () => ({ exitCode: 0, output: '', timedOut: false }),
    (h: Health, changed) => { if (changed) changes.push(h.Status); });
  const entry = (code: number) => ({ Start: '', End: '', ExitCode: code, Output: String(code) });
  assert.equal(m.health.Status, 'starting');
  m.record(entry(0));
  m.record(entry(1));
  assert.equal(m.health.Status, 'healthy');
  assert.equal(m.health.FailingStreak, 1);
  m.record(entry(1));
  assert.equal(m.health.Status, 'unhealthy');
  for (const c of [1, 1, 0]) m.record(entry(c));
  assert.equal(m.health.Status, 'healthy');
  assert.equal(m.health.FailingStreak, 0);
  assert.equal(m.health.Log.length, 5);
  assert.deepEqual(m.health.Log.map((l) => l.ExitCode), [1, 1, 1, 1, 0]);
  assert.deepEqual(changes, ['healthy', 'unhealthy', 'healthy']);
});

test('failures in the start period do not count while starting', () => {
  const m = new HealthMonitor(['x'], { StartPeriod: 60e9, Retries: 1 }, async () => ({ exitCode: 1, output: '', timedOut: false }), () => {});
  m.record({ Start: '', End: '', ExitCode: 1, Output: '' });
  assert.equal(m.health.Status, 'starting');
  assert.equal(m.health.FailingStreak, 0);
});

test('a probe that times out is recorded as -1 with dockerd\'s message', async () => {
  const m = new HealthMonitor(['x'], { Timeout: 1e9 }, async () => ({ exitCode: 137, output: 'partial', timedOut: true }), () => {});
  await m.runOnce();
  assert.equal(m.health.Log[0]!.ExitCode, -1);
  assert.equal(m.health.Log[0]!.Output, 'Health check exceeded timeout (1s)');
});
