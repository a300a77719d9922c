import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameter } from '../lib/errors.js';
import { parseDuration } from './duration.js';
import { parseTimestamp } from './timestamp.js';

const now = new Date('2024-03-10T12:00:00.000Z');
const nowNs = BigInt(now.getTime()) * 1_000_000n;
const S = 1_000_000_000n;
const utcNs = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;
/** `now`'s UTC offset, at which zone-less times are read. */
const localOffsetNs = BigInt(-now.getTimezoneOffset()) * 60n * S;

test('Unix seconds, with an optional fraction of a second', () => {
  assert.equal(parseTimestamp('1700000000', now), 1_700_000_000n * S);
  assert.equal(parseTimestamp('1700000000.123456789', now), 1_700_000_000_123_456_789n);
  assert.equal(parseTimestamp('1700000000.5', now), 1_700_000_000_500_000_000n);
  assert.equal(parseTimestamp('1700000000.1234567891', now), 1_700_000_000_123_456_789n);
  assert.equal(parseTimestamp('0', now), 0n);
});

test('RFC 3339 with a zone', () => {
  assert.equal(parseTimestamp('2024-01-02T03:04:05Z', now), utcNs('2024-01-02T03:04:05Z'));
  assert.equal(parseTimestamp('2024-01-02T03:04:05.123456789Z', now), utcNs('2024-01-02T03:04:05Z') + 123_456_789n);
  assert.equal(parseTimestamp('2024-01-02T03:04:05+02:00', now), utcNs('2024-01-02T01:04:05Z'));
  assert.equal(parseTimestamp('2024-01-02T03:04:05-07:30', now), utcNs('2024-01-02T10:34:05Z'));
  assert.equal(parseTimestamp('2024-01-02T03:04Z', now), utcNs('2024-01-02T03:04:00Z'));
  assert.equal(parseTimestamp('2024-01-02Z', now), utcNs('2024-01-02T00:00:00Z'));
});

test('dates and times without a zone are read at the local offset', () => {
  assert.equal(parseTimestamp('2024-01-02', now), utcNs('2024-01-02T00:00:00Z') - localOffsetNs);
  assert.equal(parseTimestamp('2024-01-02T15:04:05', now), utcNs('2024-01-02T15:04:05Z') - localOffsetNs);
  assert.equal(parseTimestamp('2024-01-02T15:04', now), utcNs('2024-01-02T15:04:00Z') - localOffsetNs);
  assert.equal(parseTimestamp('2024-01-02T15', now), utcNs('2024-01-02T15:00:00Z') - localOffsetNs);
  assert.equal(parseTimestamp('2024-01-02T15:04:05.25', now), utcNs('2024-01-02T15:04:05Z') - localOffsetNs + 250_000_000n);
});

test('Go durations count back from now', () => {
  assert.equal(parseTimestamp('10m', now), nowNs - 600n * S);
  assert.equal(parseTimestamp('1h30m', now), nowNs - 5400n * S);
  assert.equal(parseTimestamp('1.5h', now), nowNs - 5400n * S);
  assert.equal(parseTimestamp('-5s', now), nowNs + 5n * S);
  assert.equal(parseTimestamp('250ms', now), nowNs - 250_000_000n);
});

test('invalid values are InvalidParameter', () => {
  for (const bad of ['', 'yesterday', '10x', '2024-13-01', '2024-02-30', '2024-01-02T25:00', '2024-01-02T10:00+25:00', '1.2.3', '12:30']) {
    assert.throws(() => parseTimestamp(bad, now), InvalidParameter, bad);
  }
  assert.throws(() => parseTimestamp('soon', now), { message: 'failed to parse value as time or duration: "soon"' });
});

test('parseDuration follows Go: units, fractions, signs, a bare 0', () => {
  assert.equal(parseDuration('0'), 0n);
  assert.equal(parseDuration('300ms'), 300_000_000n);
  assert.equal(parseDuration('-1.5h'), -5_400_000_000_000n);
  assert.equal(parseDuration('2h45m'), 9_900_000_000_000n);
  assert.equal(parseDuration('1µs'), 1_000n);
  assert.equal(parseDuration('1μs'), 1_000n);
  assert.equal(parseDuration('1us'), 1_000n);
  assert.equal(parseDuration('.5s'), 500_000_000n);
  assert.equal(parseDuration('5.s'), 5_000_000_000n);
  assert.equal(parseDuration('1.0000000001s'), 1_000_000_000n);
  for (const bad of ['', '10', '.s', 's', '1d', '1h-5m', '+', '1.2.3s']) assert.equal(parseDuration(bad), undefined, bad);
});
