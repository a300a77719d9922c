import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run } from './harness.js';
import { ReferenceDockerd, skipReason } from './reference-dockerd.js';
import { buildBusybox, dockerArchive } from '../src/image/builtin/busybox.js';
import { archive, image, layerTar } from './image-fixtures.js';

/**
 * Images move between Berth and the reference dockerd losslessly, both ways. Needs Debian's
 * docker.io (the bench installs it); skipped with a message when dockerd is absent.
 */
const skip = skipReason('run the interop test');

let dir: string;
let berth: TestDaemon;
let dockerd: ReferenceDockerd | undefined;

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'bt-interop-'));
  await writeFile(join(dir, 'daemon.json'), '{}');
  dockerd = await ReferenceDockerd.start(dir);
  berth = await TestDaemon.start();
});

after(async () => {
  if (skip) return;
  const leaks = await berth?.cleanup() ?? [];
  if (dockerd) leaks.push(...await dockerd.stop());
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

const onDocker = (args: string[]) => run('docker', args, { env: { DOCKER_HOST: dockerd!.host, DOCKER_CONFIG: join(dir, 'cli') } });

async function inspectId(host: 'berth' | 'docker', name: string): Promise<{ Id: string; RootFS: { Layers: string[] } }> {
  const r = host === 'berth' ? await berth.docker(['image', 'inspect', name]) : await onDocker(['image', 'inspect', name]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout)[0];
}

test('docker save from dockerd loads into berthd with the same IDs', { skip }, async () => {
  const bb = await buildBusybox();
  const path = join(dir, 'bb.tar');
  await pipeline(dockerArchive(bb, ['busybox:latest']), createWriteStream(path));
  assert.equal((await onDocker(['load', '-i', path])).code, 0);
  // A two-layer image with whiteouts, made by the test.
  const base = await layerTar([{ name: 'a/', type: 'dir' }, { name: 'a/x', type: 'file', content: 'x' }, { name: 'b', type: 'file', content: 'b' }]);
  const top = await layerTar([{ name: '.wh.b', type: 'file' }, { name: 'a/', type: 'dir' }, { name: 'a/.wh..wh..opq', type: 'file' }]);
  const wh = image([base, top]);
  const whPath = join(dir, 'wh.tar');
  await pipeline(archive([{ img: wh, tags: ['wh:1'] }]), createWriteStream(whPath));
  assert.equal((await onDocker(['load', '-i', whPath])).code, 0);
  const saved = join(dir, 'from-docker.tar');
  const s = await onDocker(['save', '-o', saved, 'busybox:latest', 'wh:1']);
  assert.equal(s.code, 0, s.stderr);
  const l = await berth.docker(['load', '-i', saved]);
  assert.equal(l.code, 0, l.stderr);
  for (const name of ['busybox:latest', 'wh:1']) {
    const a = await inspectId('docker', name);
    const b = await inspectId('berth', name);
    assert.equal(b.Id, a.Id, name);
    assert.deepEqual(b.RootFS.Layers, a.RootFS.Layers, name);
  }
});

test('docker save from berthd loads into dockerd with the same IDs', { skip }, async () => {
  const layers = [await layerTar([{ name: 'only-berth', type: 'file', content: 'made here', mode: 0o640, uid: 7, gid: 8 }])];
  const img = image(layers, { config: { Cmd: ['cat', '/only-berth'], Labels: { from: 'berth' } } });
  const path = join(dir, 'own.tar');
  await pipeline(archive([{ img, tags: ['own:1'] }]), createWriteStream(path));
  assert.equal((await berth.docker(['load', '-i', path])).code, 0);
  const saved = join(dir, 'from-berth.tar');
  assert.equal((await berth.docker(['save', '-o', saved, 'own:1', 'busybox:latest'])).code, 0);
  assert.equal((await onDocker(['rmi', 'busybox:latest'])).code, 0);
  const l = await onDocker(['load', '-i', saved]);
  assert.equal(l.code, 0, l.stderr);
  for (const name of ['own:1', 'busybox:latest']) {
    const a = await inspectId('berth', name);
    const b = await inspectId('docker', name);
    assert.equal(b.Id, a.Id, name);
    assert.deepEqual(b.RootFS.Layers, a.RootFS.Layers, name);
  }
});
