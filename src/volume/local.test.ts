import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLog } from '../lib/log.js';
import { native, MS } from '../lib/native.js';
import { LocalDriver, parseMountOptions } from './local.js';

const isMount = async (p: string) => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === p);

test('local driver: a tmpfs volume is mounted on first use and unmounted after the last; options kept across a reopen', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bt-local-'));
  try {
    const d = await LocalDriver.open(root, silentLog());
    await assert.rejects(d.create('v', {}), { message: 'volume name is too short, names should be at least two alphanumeric characters' });
    await assert.rejects(d.create('tv', { o: 'size=1m' }), { message: /^missing required option: "(device|type)"$/ });
    await assert.rejects(d.create('tv', { size: '10m' }), { message: 'quota size requested but no quota support' });
    await d.create('tv', { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0700' });
    const path = d.dataPath('tv');
    assert.equal(await isMount(path), false);
    assert.equal(await d.mount('tv', 'a'), path);
    await d.mount('tv', 'b');
    assert.equal(await isMount(path), true);
    assert.equal(((await stat(path)).mode & 0o777), 0o700);
    await assert.rejects(d.remove('tv'), { message: 'volume has active mounts' });
    await d.unmount('tv', 'a');
    assert.equal(await isMount(path), true, 'still used by b');
    await d.unmount('tv', 'b');
    assert.equal(await isMount(path), false);
    const again = await LocalDriver.open(root, silentLog());
    assert.equal(again.hasOptions('tv'), true);
    await again.remove('tv');
    assert.deepEqual(await again.list(), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('local driver: removal never deletes through a mount left on a volume', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bt-local-'));
  const precious = join(root, 'precious');
  try {
    await mkdir(precious);
    await writeFile(join(precious, 'keep'), 'data');
    const d = await LocalDriver.open(join(root, 'data'), silentLog());
    await d.create('plain', {});
    native.mount(precious, d.dataPath('plain'), '', MS.BIND, '', '');
    await d.remove('plain');
    assert.equal(await readFile(join(precious, 'keep'), 'utf8'), 'data');
    assert.equal(await isMount(d.dataPath('plain')), false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('mount options split into flags and data as moby/sys/mount does', () => {
  assert.deepEqual(parseMountOptions('bind,ro,size=3m,uid=1000'), { flags: MS.BIND | MS.RDONLY, data: 'size=3m,uid=1000' });
  assert.deepEqual(parseMountOptions('nosuid,suid,noexec'), { flags: 8, data: '' });
});
