import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run } from './harness.js';
import { TestRegistry } from './registry.js';
import { buildBusybox, dockerArchive } from '../src/image/builtin/busybox.js';

let reg: TestRegistry;
let d1: TestDaemon;
let d2: TestDaemon;
let dir: string;
let busyboxId: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-dist-'));
  const bb = await buildBusybox();
  busyboxId = bb.id;
  await pipeline(dockerArchive(bb, ['busybox:latest']), createWriteStream(join(dir, 'busybox.tar')));
  [reg, d1, d2] = await Promise.all([TestRegistry.start(), TestDaemon.start(), TestDaemon.start()]);
  const r = await d1.docker(['load', '-i', join(dir, 'busybox.tar')]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  const leaks = [...(await d1.cleanup()), ...(await d2.cleanup())];
  await reg.stop();
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

test('push from berthd, pull into a clean berthd: same image ID, RepoDigests, up to date', async () => {
  const name = `${reg.host}/busybox:latest`;
  assert.equal((await d1.docker(['tag', 'busybox', name])).code, 0);
  const push = await d1.docker(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`The push refers to repository \\[${reg.host}/busybox\\]`));
  assert.match(push.stdout, /Pushed/);
  const m = /latest: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(push.stdout);
  assert.ok(m, push.stdout);
  const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).Digest, m[1]);

  const pull = await d2.docker(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /Pull complete/);
  assert.match(pull.stdout, new RegExp(`Digest: ${m[1]}`));
  assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${name}`));
  const img = JSON.parse((await d2.docker(['image', 'inspect', name])).stdout)[0];
  assert.equal(img.Id, busyboxId);
  assert.deepEqual(img.RepoDigests, [`${reg.host}/busybox@${m[1]}`]);
  const again = await d2.docker(['pull', name]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`Status: Image is up to date for ${name}`));
  const runIt = await d2.docker(['run', '--rm', '--network', 'none', name, 'echo', 'pulled']);
  assert.equal(runIt.code, 0, runIt.stderr);
  assert.equal(runIt.stdout.trim(), 'pulled');
});
