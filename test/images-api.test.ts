import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run, ROOT } from './harness.js';
import { archive, image, layerTar } from './image-fixtures.js';

/** The images API beyond load and save: list filters, prune, events, start-up with damage. */
let d: TestDaemon;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-imgapi-'));
  d = await TestDaemon.start();
});
after(async () => {
  const leaks = await d.cleanup();
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

async function load(name: string, images: Parameters<typeof archive>[0]) {
  const path = join(dir, name);
  await pipeline(archive(images), createWriteStream(path));
  const r = await d.docker(['load', '-i', path]);
  assert.equal(r.code, 0, r.stderr);
}

test('the built-in busybox loader loads once and is a no-op after', async () => {
  const loader = join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js');
  const first = await run(process.execPath, [loader, d.socket]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /loaded the built-in busybox:latest/);
  const second = await run(process.execPath, [loader, d.socket]);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /loaded/);
  assert.equal((await d.docker(['images', '-q', 'busybox:latest'])).stdout.trim().length, 12);
});

test('list filters: reference, label, dangling, before/since; events of tag and delete', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const l1 = await layerTar([{ name: 'one', type: 'file', content: '1' }]);
  const l2 = await layerTar([{ name: 'two', type: 'file', content: '2' }]);
  const a = image([l1], { created: '2021-01-01T00:00:00Z', config: { Labels: { tier: 'web' } } });
  const b = image([l2], { created: '2022-01-01T00:00:00Z', config: { Labels: { tier: 'db' } } });
  await load('ab.tar', [{ img: a, tags: ['app/web:1'] }, { img: b, tags: ['app/db:1'] }]);
  const list = async (...args: string[]) =>
    (await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}', ...args])).stdout.trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(await list('--filter', 'reference=app/*'), ['app/db:1', 'app/web:1']);
  assert.deepEqual(await list('--filter', 'label=tier=web'), ['app/web:1']);
  assert.deepEqual(await list('--filter', 'before=app/db:1', '--filter', 'reference=app/*'), ['app/web:1']);
  assert.deepEqual(await list('--filter', 'since=app/web:1', '--filter', 'reference=app/*'), ['app/db:1']);
  const bad = await d.request('GET', '/images/json?filters=' + encodeURIComponent('{"nope":{"x":true}}'));
  assert.equal(bad.status, 400);
  assert.match(bad.json().message, /invalid filter 'nope'/);
  // Untag b: it becomes dangling.
  assert.equal((await d.docker(['tag', 'app/db:1', 'app/db:2'])).code, 0);
  assert.equal((await d.docker(['rmi', 'app/db:1'])).code, 0);
  assert.equal((await d.docker(['rmi', 'app/db:2'])).code, 0);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = await d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  assert.equal(ev.code, 0, ev.stderr);
  const actions = ev.stdout.trim().split('\n');
  for (const want of ['load app/web:1', 'tag app/db:2', 'untag app/db:1', 'untag app/db:2']) {
    assert.ok(actions.includes(want), `${want} not in ${actions.join(' | ')}`);
  }
  assert.ok(actions.some((x) => x.startsWith('delete ')), actions.join(' | '));
});

test('prune removes dangling images only, or all unused with dangling=false', async () => {
  const l = await layerTar([{ name: 'dangle', type: 'file', content: 'd' }]);
  const x = image([l], { created: '2020-01-01T00:00:00Z' });
  await load('x.tar', [{ img: x, tags: [] }]);
  const before = (await d.docker(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).stdout;
  assert.ok(before.includes(x.id));
  const r = await d.request('POST', '/images/prune');
  assert.equal(r.status, 200);
  const body = r.json();
  assert.ok(body.ImagesDeleted.some((i: { Deleted?: string }) => i.Deleted === x.id), JSON.stringify(body));
  assert.ok(body.SpaceReclaimed > 0);
  assert.ok((await d.docker(['images', '-q', 'app/web:1'])).stdout.trim(), 'tagged images stay');
  const all = await d.request('POST', '/images/prune?filters=' + encodeURIComponent('{"dangling":{"false":true}}'));
  assert.equal(all.status, 200);
  assert.equal((await d.docker(['images', '-q'])).stdout.trim(), '');
});

test('start-up skips a damaged image config and a damaged layer, logging them', async () => {
  const good = image([await layerTar([{ name: 'g', type: 'file', content: 'g' }])]);
  const bad = image([await layerTar([{ name: 'b', type: 'file', content: 'b' }])]);
  await load('gb.tar', [{ img: good, tags: ['good:1'] }, { img: bad, tags: ['bad:1'] }]);
  assert.equal(await d.stop(), 0);
  const content = join(d.dataRoot, 'image', 'overlay2', 'imagedb', 'content', 'sha256');
  await writeFile(join(content, bad.id.slice(7)), '{"torn');
  const layers = join(d.dataRoot, 'image', 'overlay2', 'layerdb', 'sha256');
  const orphanLayer = (await readdir(layers)).find((h) => !good.diffIds.includes(`sha256:${h}`) && !bad.diffIds.includes(`sha256:${h}`));
  assert.equal(orphanLayer, undefined);
  await writeFile(join(layers, bad.diffIds[0]!.slice(7), 'diff'), 'garbage');
  d = await TestDaemon.start({ dir: d.dir });
  assert.match(d.logs, /skipping a damaged image/);
  assert.match(d.logs, /skipping a damaged layer/);
  const ids = (await d.docker(['images', '-q', '--no-trunc'])).stdout;
  assert.ok(ids.includes(good.id));
  assert.ok(!ids.includes(bad.id));
  const inspect = await d.docker(['image', 'inspect', 'bad:1']);
  assert.notEqual(inspect.code, 0);
});
