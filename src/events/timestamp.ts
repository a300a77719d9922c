import { InvalidParameter } from '../lib/errors.js';
import { parseDuration } from './duration.js';

/**
 * Reads a `since`/`until` value into nanoseconds since the epoch, accepting every form the
 * docker CLI accepts (its GetTimestamp) as well as the Unix form it sends on the wire:
 * - a Go duration, meaning that long before `now` ("10m", "1h30m"; "-5s" is in the future);
 * - Unix seconds with optional fraction ("1700000000", "1700000000.123456789");
 * - RFC 3339 dates and times, with or without zone, seconds or fraction: "2006-01-02",
 *   "2006-01-02T15:04", "2006-01-02T15:04:05.999Z", "2006-01-02T15:04:05+07:00".
 * A time without a zone is read at `now`'s UTC offset, as dockerd reads it in the local zone.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;
const UNIX = /^(\d+)(?:\.(\d+))?$/;

export function parseTimestamp(value: string, now: Date = new Date()): bigint {
  const duration = value === '0' ? undefined : parseDuration(value);
  if (duration !== undefined) return BigInt(now.getTime()) * 1_000_000n - duration;

  const unix = UNIX.exec(value);
  if (unix) {
    // The fraction is a decimal fraction of a second: ".5" is 500ms; past 9 digits is dropped.
    const frac = (unix[2] ?? '').slice(0, 9).padEnd(9, '0');
    return BigInt(unix[1]!) * 1_000_000_000n + BigInt(frac);
  }

  const m = DATE_TIME.exec(value);
  if (!m) {
    // Like GetTimestamp: a dash means a date that did not parse; anything else is just wrong.
    if (value.includes('-')) throw new InvalidParameter(`parsing time "${value}": not an RFC 3339 date or time`);
    throw new InvalidParameter(`failed to parse value as time or duration: "${value}"`);
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const back = new Date(0);
  back.setUTCFullYear(fields[0], fields[1] - 1, fields[2]);
  back.setUTCHours(fields[3], fields[4], fields[5], 0);
  const ms = back.getTime();
  if (
    back.getUTCFullYear() !== fields[0] || back.getUTCMonth() !== fields[1] - 1 || back.getUTCDate() !== fields[2] ||
    fields[3] > 23 || fields[4] > 59 || fields[5] > 59
  ) {
    throw new InvalidParameter(`parsing time "${value}": field out of range`);
  }
  const offsetMin = zone === undefined ? -now.getTimezoneOffset() : zoneOffset(zone);
  const nanos = BigInt(frac.slice(0, 9).padEnd(9, '0'));
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + nanos;
}

/** Minutes east of UTC. */
function zoneOffset(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 23 || minutes > 59) throw new InvalidParameter(`parsing time: bad zone offset "${zone}"`);
  return sign * (hours * 60 + minutes);
}
