import { SystemError } from '../lib/errors.js';
import type { EventMessage } from '../types/events.js';

/**
 * One reader of the event stream: the replayed events, then live ones, as an async iterator
 * for `for await`. Live events wait in a queue of at most `limit`; the daemon never blocks on
 * a reader. A reader that lets the queue fill is failed (see Events) instead of making the
 * daemon hold an unbounded backlog. One consumer at a time.
 */
export class Subscription implements AsyncIterableIterator<EventMessage> {
  readonly #queue: EventMessage[];
  readonly #limit: number;
  readonly #release: () => void;
  #waiter: { resolve: (r: IteratorResult<EventMessage>) => void; reject: (e: Error) => void } | undefined;
  #ended = false;
  #error: Error | undefined;

  /** `release` runs once when the subscription ends, to unregister it and stop its timers. */
  constructor(replay: EventMessage[], limit: number, release: () => void) {
    this.#queue = replay;
    this.#limit = limit;
    this.#release = release;
  }

  /** True once no more events will be queued (what is queued is still delivered). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Queues a live event; on overflow the subscription fails with `overflow()`. */
  push(msg: EventMessage, overflow: () => Error): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve({ value: msg, done: false });
    } else if (this.#queue.length >= this.#limit) {
      this.fail(overflow());
    } else {
      this.#queue.push(msg);
    }
  }

  /** Ends the stream after what is already queued, e.g. when `until` passes. */
  end(): void {
    this.#finish(undefined);
  }

  /** Ends the stream with `err` after what is already queued. */
  fail(err: Error): void {
    this.#finish(err);
  }

  /** Ends the stream now, dropping what is queued: the reader has gone. */
  close(): void {
    this.#queue.length = 0;
    this.#finish(undefined);
  }

  next(): Promise<IteratorResult<EventMessage>> {
    const msg = this.#queue.shift();
    if (msg) return Promise.resolve({ value: msg, done: false });
    if (this.#ended) {
      const err = this.#error;
      this.#error = undefined;
      return err ? Promise.reject(err) : Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waiter) return Promise.reject(new SystemError('events subscription read by two consumers'));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** Called by `for await` on break or throw. */
  return(): Promise<IteratorResult<EventMessage>> {
    this.close();
    this.#error = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<EventMessage> {
    return this;
  }

  #finish(err: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    this.#release();
    const waiter = this.#waiter;
    if (!waiter) return;
    // A waiter exists only while the queue is empty.
    this.#waiter = undefined;
    this.#error = undefined;
    if (err) waiter.reject(err);
    else waiter.resolve({ value: undefined, done: true });
  }
}
