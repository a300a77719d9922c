import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestDaemon, run, BERTHD } from './harness.js';

/** The graph driver picked at first start is kept; a conflicting --storage-driver is refused. */
const daemons: TestDaemon[] = [];
after(async () => {
  const leaks: string[] = [];
  for (const d of daemons.reverse()) leaks.push(...(await d.cleanup()));
  assert.deepEqual(leaks, []);
});

test('vfs chosen at first start is remembered, overlay2 then refused', async () => {
  const d = await TestDaemon.start({ args: ['--storage-driver', 'vfs'] });
  daemons.push(d);
  assert.equal((await d.request('GET', '/info')).json().Driver, 'vfs');
  assert.equal(await d.stop(), 0);
  const again = await TestDaemon.start({ dir: d.dir });
  daemons.push(again);
  assert.equal((await again.request('GET', '/info')).json().Driver, 'vfs');
  assert.equal(await again.stop(), 0);
  const r = await run(process.execPath, [BERTHD, ...TestDaemon.flags(d.dir), '--storage-driver', 'overlay2'], { timeoutMs: 30_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${join(d.dir, 'data')} already holds images of the vfs storage driver`));
});

test('an unknown storage driver is refused', async () => {
  const d = await TestDaemon.start();
  daemons.push(d);
  assert.equal((await d.request('GET', '/info')).json().Driver, 'overlay2');
  assert.equal(await d.stop(), 0);
  const r = await run(process.execPath, [BERTHD, ...TestDaemon.flags(d.dir), '--storage-driver', 'zfs'], { timeoutMs: 30_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /driver not supported: zfs/);
});
