import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Filters } from '../api/filters.js';
import { InvalidParameter, Unavailable } from '../lib/errors.js';
import { Events, type EventMessage } from './index.js';

const actor = (ID: string, Attributes: Record<string, string> = {}) => ({ ID, Attributes });
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

async function collect(it: AsyncIterable<EventMessage>): Promise<EventMessage[]> {
  const out: EventMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

test('log fills the message like dockerd, deprecated fields included', () => {
  const ev = new Events();
  const before = nowNs();
  const m = ev.log('container', 'start', actor('c1', { image: 'busybox', name: 'web' }));
  assert.deepEqual(Object.keys(m), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  assert.equal(m.status, 'start');
  assert.equal(m.id, 'c1');
  assert.equal(m.from, 'busybox');
  assert.deepEqual(m.Actor, { ID: 'c1', Attributes: { image: 'busybox', name: 'web' } });
  assert.equal(m.scope, 'local');
  assert.ok(BigInt(m.timeNano) >= before - 2_000_000n && BigInt(m.timeNano) <= nowNs() + 2_000_000n);
  assert.equal(m.time, Math.floor(m.timeNano / 1e9));

  const img = ev.log('image', 'pull', actor('busybox:latest', { name: 'busybox:latest' }));
  assert.deepEqual([img.status, img.id, img.from], ['pull', 'busybox:latest', undefined]);
  const net = ev.log('network', 'create', actor('n1', { name: 'br', type: 'bridge' }));
  assert.deepEqual(Object.keys(net), ['Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
});

test('timestamps are strictly increasing and exact as numbers', () => {
  const ev = new Events();
  let last = 0;
  for (let i = 0; i < 2000; i++) {
    const m = ev.log('volume', 'create', actor(`v${i}`));
    assert.ok(m.timeNano > last, `event ${i} not after the one before`);
    assert.equal(BigInt(m.timeNano) % 1024n, 0n);
    last = m.timeNano;
  }
});

test('messages are frozen, and later changes to the caller\'s attributes do not leak in', () => {
  const ev = new Events();
  const attrs: Record<string, string> = { name: 'a' };
  const m = ev.log('container', 'create', actor('c', attrs));
  attrs['name'] = 'changed';
  assert.equal(m.Actor.Attributes['name'], 'a');
  assert.throws(() => {
    (m as { Action: string }).Action = 'x';
  }, TypeError);
});

test('the log keeps the last 256 events: the 257th pushes out the first', async () => {
  const ev = new Events();
  let last: EventMessage | undefined;
  for (let i = 0; i < 257; i++) last = ev.log('container', 'create', actor(`c${i}`));
  const replay = await collect(ev.subscribe({ since: 0n, until: last!.timeNano }));
  assert.equal(replay.length, 256);
  assert.equal(replay[0]!.Actor.ID, 'c1');
  assert.equal(replay[255]!.Actor.ID, 'c256');
});

test('no since and no until: no replay, live events only', async () => {
  const ev = new Events();
  ev.log('container', 'create', actor('old'));
  const ac = new AbortController();
  const sub = ev.subscribe({ signal: ac.signal });
  ev.log('container', 'start', actor('new'));
  const first = await sub.next();
  assert.equal(first.value?.Actor.ID, 'new');
  ac.abort();
  assert.equal((await sub.next()).done, true);
});

test('since..until replays the matching window, both ends included', async () => {
  const ev = new Events();
  const ms = ['a', 'b', 'c', 'd', 'e'].map((id) => ev.log('container', 'create', actor(id)));
  const got = await collect(ev.subscribe({ since: ms[1]!.timeNano, until: BigInt(ms[3]!.timeNano) }));
  assert.deepEqual(got.map((m) => m.Actor.ID), ['b', 'c', 'd']);
  // A since alone replays from there and then stays live.
  const ac = new AbortController();
  const sub = ev.subscribe({ since: BigInt(ms[3]!.timeNano), signal: ac.signal });
  ev.log('container', 'start', actor('f'));
  const ids: string[] = [];
  for await (const m of sub) {
    ids.push(m.Actor.ID);
    if (ids.length === 3) ac.abort();
  }
  assert.deepEqual(ids, ['d', 'e', 'f']);
});

test('replay applies the filters', async () => {
  const ev = new Events();
  ev.log('container', 'create', actor('c1'));
  ev.log('network', 'create', actor('n1'));
  const last = ev.log('container', 'start', actor('c1'));
  const got = await collect(ev.subscribe({ since: 0n, until: last.timeNano, filters: new Filters({ type: ['container'] }) }));
  assert.deepEqual(got.map((m) => m.Action), ['create', 'start']);
});

test('an until in the past replays and ends without going live', async () => {
  const ev = new Events();
  const first = ev.log('container', 'create', actor('c1'));
  const sub = ev.subscribe({ since: 0n, until: first.timeNano });
  assert.equal(ev.listeners, 0);
  ev.log('container', 'start', actor('c1'));
  assert.deepEqual((await collect(sub)).map((m) => m.Action), ['create']);
});

test('an until in the future ends the live stream then, with no event to wake it', async () => {
  const ev = new Events();
  const until = nowNs() + 150_000_000n;
  const sub = ev.subscribe({ until });
  assert.equal(ev.listeners, 1);
  await sleep(20);
  ev.log('container', 'start', actor('during'));
  const got = await collect(sub);
  assert.ok(nowNs() >= until, 'stream ended before until');
  assert.deepEqual(got.map((m) => m.Actor.ID), ['during']);
  assert.equal(ev.listeners, 0);
  ev.log('container', 'stop', actor('after'));
});

test('since after until is refused as dockerd does', () => {
  const ev = new Events();
  assert.throws(
    () => ev.subscribe({ since: 2_000_000_000n, until: 1_000_000_000n }),
    (e: unknown) => e instanceof InvalidParameter && e.message === '`since` time (2.000000000) cannot be after `until` time (1.000000000)',
  );
});

test('live events pass through the subscriber\'s filters', async () => {
  const ev = new Events();
  const ac = new AbortController();
  const sub = ev.subscribe({ filters: new Filters({ event: ['die'] }), signal: ac.signal });
  ev.log('container', 'start', actor('c1'));
  ev.log('container', 'die', actor('c1'));
  assert.equal((await sub.next()).value?.Action, 'die');
  ac.abort();
});

test('abort ends a waiting reader, unregisters it, and drops what was queued', async () => {
  const ev = new Events();
  const ac = new AbortController();
  const sub = ev.subscribe({ signal: ac.signal });
  const pending = sub.next();
  assert.equal(ev.listeners, 1);
  ac.abort();
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.equal(ev.listeners, 0);

  const ac2 = new AbortController();
  const sub2 = ev.subscribe({ signal: ac2.signal });
  ev.log('container', 'create', actor('x'));
  ac2.abort();
  assert.equal((await sub2.next()).done, true);
});

test('an already aborted signal yields nothing', async () => {
  const ev = new Events();
  ev.log('container', 'create', actor('x'));
  const ac = new AbortController();
  ac.abort();
  assert.deepEqual(await collect(ev.subscribe({ since: 0n, signal: ac.signal })), []);
  assert.equal(ev.listeners, 0);
});

test('breaking out of for-await unsubscribes', async () => {
  const ev = new Events();
  const sub = ev.subscribe({});
  ev.log('container', 'create', actor('x'));
  for await (const m of sub) {
    assert.equal(m.Actor.ID, 'x');
    break;
  }
  assert.equal(ev.listeners, 0);
});

test('a reader that falls behind the queue limit gets its queue, then Unavailable', async () => {
  const ev = new Events({ queueLimit: 4 });
  const sub = ev.subscribe({});
  for (let i = 0; i < 10; i++) ev.log('container', 'create', actor(`c${i}`));
  assert.equal(ev.listeners, 0, 'the slow reader is dropped at once');
  const ids: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const m of sub) ids.push(m.Actor.ID);
    })(),
    (e: unknown) => e instanceof Unavailable && /too slow/.test(e.message),
  );
  assert.deepEqual(ids, ['c0', 'c1', 'c2', 'c3']);
});

test('the default queue limit is 1024 and a reader keeping up is never dropped', async () => {
  const ev = new Events();
  const ac = new AbortController();
  const sub = ev.subscribe({ signal: ac.signal });
  let n = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 1000; i++) ev.log('container', 'create', actor('c'));
    for (let i = 0; i < 1000; i++) {
      assert.equal((await sub.next()).done, false);
      n++;
    }
  }
  assert.equal(n, 5000);
  assert.equal(ev.listeners, 1);
  for (let i = 0; i < 1025; i++) ev.log('container', 'create', actor('c'));
  assert.equal(ev.listeners, 0);
  ac.abort();
});

test('close ends every live stream after its queued events', async () => {
  const ev = new Events();
  const a = ev.subscribe({});
  const b = ev.subscribe({ filters: new Filters({ type: ['image'] }) });
  assert.equal(ev.listeners, 2);
  ev.log('container', 'create', actor('x'));
  ev.close();
  assert.equal(ev.listeners, 0);
  assert.deepEqual((await collect(a)).map((m) => m.Actor.ID), ['x']);
  assert.deepEqual(await collect(b), []);
});
