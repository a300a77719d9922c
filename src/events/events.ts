import type { Filters } from '../api/filters.js';
import { InvalidParameter, Unavailable } from '../lib/errors.js';
import type { EventActor, EventMessage, EventScope, EventType } from '../types/events.js';
import { Clock } from './clock.js';
import { atTime } from './deadline.js';
import { include } from './filter.js';
import { Ring } from './ring.js';
import { Subscription } from './subscription.js';

/** A point in time: a Date, or nanoseconds since the epoch as bigint or number. */
export type Instant = Date | bigint | number;

export interface SubscribeOptions {
  /** Replay logged events from this time on. */
  since?: Instant;
  /** Replay logged events up to this time; a future `until` ends the live stream then. */
  until?: Instant;
  filters?: Filters;
  /** Aborting ends the stream at once (the client went away). */
  signal?: AbortSignal;
}

/** What a subsystem needs to publish events; narrower than Events. */
export interface EventSink {
  log(type: EventType, action: string, actor: EventActor): void;
}

/**
 * The daemon's event service, like dockerd's daemon/events: the last 256 events for replay,
 * and live subscribers (GET /events).
 *
 * Replay happens only when `since` or `until` is given, and takes the logged events with
 * since <= time <= until that pass the filters; live events follow, unless `until` has already
 * passed. Messages are frozen because every subscriber and the log share them: copy one before
 * changing it (e.g. for an older API version).
 *
 * Back-pressure: publishing never waits for a reader. Each subscriber has a queue of at most
 * `queueLimit` (1024) events; one that falls further behind is failed with Unavailable after
 * its queued events, so a stuck client costs bounded memory and learns it missed events.
 * (dockerd instead drops single events for a reader that is 100 ms late, silently.)
 */
export class Events implements EventSink {
  static readonly LOG_SIZE = 256;
  static readonly QUEUE_LIMIT = 1024;

  readonly #log = new Ring<EventMessage>(Events.LOG_SIZE);
  readonly #subs = new Map<Subscription, { filters: Filters | undefined; until: bigint | undefined }>();
  readonly #clock = new Clock();
  readonly #queueLimit: number;

  constructor(opts: { queueLimit?: number } = {}) {
    this.#queueLimit = opts.queueLimit ?? Events.QUEUE_LIMIT;
  }

  /** Live subscribers, reported as NEventsListener in GET /info. */
  get listeners(): number {
    return this.#subs.size;
  }

  /** Records an event and hands it to the subscribers whose filters it passes. */
  log(type: EventType, action: string, actor: EventActor, scope: EventScope = 'local'): EventMessage {
    const nanos = this.#clock.now();
    const Actor = Object.freeze({ ID: actor.ID, Attributes: Object.freeze({ ...actor.Attributes }) });
    // dockerd still fills the pre-1.22 fields for containers and images; key order is its.
    const legacy: Partial<EventMessage> = {};
    if (type === 'container' || type === 'image') {
      if (action) legacy.status = action;
      if (actor.ID) legacy.id = actor.ID;
      if (type === 'container' && Actor.Attributes['image']) legacy.from = Actor.Attributes['image'];
    }
    const msg: EventMessage = Object.freeze({
      ...legacy,
      Type: type,
      Action: action,
      Actor,
      scope,
      time: Number(nanos / 1_000_000_000n),
      timeNano: Number(nanos),
    });
    this.#log.push(msg);
    for (const [sub, { filters, until }] of this.#subs) {
      // The `until` timer has millisecond steps; an event after `until` but before it fires stays out.
      if (until !== undefined && nanos > until) continue;
      if (!filters || include(filters, msg)) sub.push(msg, () => this.#overflow());
    }
    return msg;
  }

  subscribe(opts: SubscribeOptions = {}): Subscription {
    const since = opts.since === undefined ? undefined : toNanos(opts.since);
    const until = opts.until === undefined ? undefined : toNanos(opts.until);
    if (since !== undefined && until !== undefined && until < since) {
      throw new InvalidParameter(`\`since\` time (${fmt(since)}) cannot be after \`until\` time (${fmt(until)})`);
    }
    const filters = opts.filters && opts.filters.size > 0 ? opts.filters : undefined;
    const replay: EventMessage[] = [];
    if (since !== undefined || until !== undefined) {
      for (const msg of this.#log) {
        const t = BigInt(msg.timeNano);
        if (since !== undefined && t < since) continue;
        if (until !== undefined && t > until) continue;
        if (!filters || include(filters, msg)) replay.push(msg);
      }
    }

    const cleanups: Array<() => void> = [];
    const sub = new Subscription(replay, this.#queueLimit, () => {
      this.#subs.delete(sub);
      for (const fn of cleanups) fn();
    });
    // Past when the wall clock or the last event is beyond it: later events come after both.
    const pastOnly =
      until !== undefined && (until < BigInt(Date.now()) * 1_000_000n || until <= this.#clock.last);
    if (pastOnly || opts.signal?.aborted) {
      if (opts.signal?.aborted) sub.close();
      else sub.end();
      return sub;
    }
    // Registered in the same tick as the replay was read, so no event falls between them.
    this.#subs.set(sub, { filters, until });
    if (until !== undefined) cleanups.push(atTime(until, () => sub.end()));
    const signal = opts.signal;
    if (signal) {
      const onAbort = () => sub.close();
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    return sub;
  }

  /** Ends every live stream, after what each has queued (daemon shutdown). */
  close(): void {
    for (const sub of [...this.#subs.keys()]) sub.end();
  }

  #overflow(): Error {
    return new Unavailable(`events subscriber too slow: more than ${this.#queueLimit} events waiting`);
  }
}

function toNanos(t: Instant): bigint {
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  if (typeof t === 'bigint') return t;
  if (!Number.isFinite(t)) throw new InvalidParameter(`invalid timestamp: ${t}`);
  return BigInt(Math.trunc(t));
}

/** Seconds.nanoseconds, the form the docker CLI sends. */
function fmt(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  return `${sign}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`;
}
