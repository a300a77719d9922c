import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, type TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';

/**
 * Issue 6, volumes and mounts with the real docker CLI: named and anonymous volumes, copy-up,
 * binds, tmpfs, --volumes-from, reference counting, prune, the API's errors, and no mount
 * left behind.
 */

let d: TestDaemon;
let work: string;
const started = new Date();

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-vol-'));
});

after(async () => {
  const r = await d.docker(['volume', 'ls', '-q']);
  const problems = await removeAllAndFindLeaks(d, started);
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
  assert.equal(r.code, 0);
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await d.docker(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr.trim();
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(dir));
}

test('docker volume create, inspect, ls with filters, rm; dockerd name rules and option checks', async () => {
  assert.equal((await ok(['volume', 'create', '--label', 'team=a', '--label', 'x', 'vol-one'])).trim(), 'vol-one');
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'vol-one']));
  assert.equal(v.Name, 'vol-one');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.deepEqual(v.Labels, { team: 'a', x: '' });
  // The CLI sends no DriverOpts when none are given; what a client sends comes back.
  assert.equal(v.Options, null);
  const raw = await d.request('POST', '/volumes/create', { body: { Name: 'vol-raw', DriverOpts: {}, Labels: { k: 'v' } } });
  assert.equal(raw.status, 201);
  assert.deepEqual(raw.json().Options, {});
  assert.deepEqual(raw.json().Labels, { k: 'v' });
  assert.equal((await d.request('DELETE', '/volumes/vol-raw')).status, 204);
  assert.equal(v.Mountpoint, join(d.dataRoot, 'volumes', 'vol-one', '_data'));
  assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok((await stat(v.Mountpoint)).isDirectory());
  // A second create of the same name answers with the existing volume.
  assert.equal((await ok(['volume', 'create', 'vol-one'])).trim(), 'vol-one');
  await ok(['volume', 'create', 'vol-two']);

  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'label=team=a'])).trim().split('\n'), ['vol-one']);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'name=two'])).trim().split('\n'), ['vol-two']);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'driver=local', '--filter', 'name=vol-'])).trim().split('\n').sort(), ['vol-one', 'vol-two']);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'dangling=true', '--filter', 'name=vol-'])).trim().split('\n').sort(), ['vol-one', 'vol-two']);
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'dangling=false', '--filter', 'name=vol-'])).trim(), '');
  assert.match(await fails(['volume', 'ls', '--filter', 'bogus=1']), /invalid filter 'bogus'/i);

  assert.equal(await fails(['volume', 'create', 'a']),
    'Error response from daemon: create a: volume name is too short, names should be at least two alphanumeric characters');
  assert.equal(await fails(['volume', 'create', 'a:b']),
    'Error response from daemon: create a:b: "a:b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
  assert.equal(await fails(['volume', 'create', '-o', 'bogus=1', 'vol-bad']), 'Error response from daemon: create vol-bad: invalid option: "bogus"');
  assert.equal(await fails(['volume', 'create', '-o', 'type=tmpfs', 'vol-bad']), 'Error response from daemon: create vol-bad: missing required option: "device"');
  assert.equal(await fails(['volume', 'create', '-d', 'nosuchdriver', 'vol-bad']),
    'Error response from daemon: create vol-bad: error looking up volume plugin nosuchdriver: plugin "nosuchdriver" not found');
  assert.equal(await exists(join(d.dataRoot, 'volumes', 'vol-bad')), false);
  assert.equal(await fails(['volume', 'inspect', 'nope']), 'Error response from daemon: get nope: no such volume');

  const api = await d.request('GET', '/volumes/nope');
  assert.equal(api.status, 404);
  assert.equal(api.json().message, 'get nope: no such volume');
  const bad = await d.request('POST', '/volumes/create', { body: { Name: 5 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json().message, 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Name of type string');

  assert.equal((await ok(['volume', 'rm', 'vol-one', 'vol-two'])).trim(), 'vol-one\nvol-two');
  assert.equal(await exists(join(d.dataRoot, 'volumes', 'vol-one')), false);
  assert.equal((await d.request('DELETE', '/volumes/nope')).status, 404);
  assert.equal((await d.request('DELETE', '/volumes/nope?force=1')).status, 204);
});
