import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeConfig } from './merge.js';
import { signalNumber } from './signals.js';
import { generateName, VALID_NAME } from './names.js';
import { ContainerStore } from './store.js';
import { newState, describeState, type Container } from './container.js';
import { silentLog } from '../lib/log.js';

test('merge takes the image\'s command only when the user gives none', () => {
  const image = { Cmd: ['sh'], Entrypoint: null, Env: ['PATH=/bin', 'A=1'], WorkingDir: '/w', Labels: { a: '1' } };
  assert.deepEqual(mergeConfig({}, image).Cmd, ['sh']);
  assert.deepEqual(mergeConfig({ Cmd: ['echo'] }, image).Cmd, ['echo']);
  const ep = mergeConfig({ Entrypoint: ['/run'] }, { ...image, Entrypoint: ['/img'] });
  assert.deepEqual(ep.Entrypoint, ['/run']);
  assert.equal(ep.Cmd, undefined);
  assert.deepEqual(mergeConfig({ Env: ['A=2', 'B=3'] }, image).Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.equal(mergeConfig({}, image).WorkingDir, '/w');
  assert.deepEqual(mergeConfig({ Labels: { b: '2' } }, image).Labels, { a: '1', b: '2' });
});

test('signals by name or number', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('kill'), 9);
  assert.equal(signalNumber('HUP'), 1);
  assert.equal(signalNumber('10'), 10);
  assert.throws(() => signalNumber('SIGNOPE'), /Invalid signal: SIGNOPE/);
  assert.throws(() => signalNumber('0'), /Invalid signal/);
});

test('generated names are valid names', () => {
  for (let i = 0; i < 50; i++) assert.match(generateName(i % 2), VALID_NAME);
  assert.ok(!VALID_NAME.test('-bad'));
  assert.ok(!VALID_NAME.test('a'));
  assert.ok(VALID_NAME.test('/ok.name_1-x'));
});

test('the store: lookup by name, ID and prefix; conflicts; persistence; a torn config is skipped', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-cstore-'));
  try {
    const s = await ContainerStore.open(root, silentLog());
    const make = (id: string, name: string): Container => ({
      ID: id, Name: name, Created: new Date().toISOString(), Path: 'sh', Args: [], Config: {}, HostConfig: {},
      State: newState(), Image: 'sha256:x', Driver: 'overlay2', RestartCount: 0, HostnamePath: '', HostsPath: '',
      ResolvConfPath: '', LogPath: '', HasBeenStartedBefore: false, HasBeenManuallyStopped: false,
    });
    const a = make('ab'.repeat(32), '/alpha');
    const b = make('ac'.repeat(32), '/beta');
    for (const c of [a, b]) { s.reserveName(c.Name, c.ID); await s.save(c); }
    assert.equal(s.get('alpha').ID, a.ID);
    assert.equal(s.get('/beta').ID, b.ID);
    assert.equal(s.get('abab').ID, a.ID);
    assert.throws(() => s.get('a'), /multiple IDs found with provided prefix: a/);
    assert.throws(() => s.get('zzz'), /No such container: zzz/);
    assert.throws(() => s.reserveName('alpha', 'ff'.repeat(32)), /Conflict\. The container name "\/alpha" is already in use by container/);
    await mkdir(join(root, 'cd'.repeat(32)));
    await writeFile(join(root, 'cd'.repeat(32), 'config.v2.json'), '{"torn');
    const again = await ContainerStore.open(root, silentLog());
    assert.equal(again.all().length, 2);
    await again.delete(again.get('alpha'));
    assert.equal((await ContainerStore.open(root, silentLog())).all().length, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the Status column', () => {
  const s = newState();
  assert.equal(describeState(s), 'Created');
  const t = Date.now();
  assert.equal(describeState({ ...s, Running: true, StartedAt: new Date(t - 3000).toISOString() }, t), 'Up 3 seconds');
  assert.equal(describeState({ ...s, Status: 'exited', ExitCode: 1, FinishedAt: new Date(t - 120_000).toISOString() }, t), 'Exited (1) 2 minutes ago');
});
