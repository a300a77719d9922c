import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, run, TestDaemon } from './harness.js';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';

/**
 * Issue 6, legacy volume plugins: a plugin written here (JSON over HTTP on a unix socket in
 * the daemon's own `<exec-root>/plugins`) is found by name, activated, and used for create,
 * mount, write, unmount and remove; a plugin that is down, or not a volume driver, is a clear
 * error rather than a hang.
 */

let d: TestDaemon;
let work: string;
const started = new Date();
const servers: http.Server[] = [];
const calls: Array<{ method: string; body: Record<string, unknown> }> = [];
const volumes = new Map<string, { dir: string; mounts: Set<string> }>();

function plugin(implementsApis: string[], o: { failList?: boolean } = {}): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const method = (req.url ?? '').slice(1);
        const body = (JSON.parse(Buffer.concat(chunks).toString() || 'null') ?? {}) as Record<string, unknown>;
        calls.push({ method, body });
        const name = body.Name as string;
        const v = volumes.get(name);
        let reply: unknown = {};
        switch (method) {
          case 'Plugin.Activate': reply = { Implements: implementsApis }; break;
          case 'VolumeDriver.Capabilities': reply = { Capabilities: { Scope: 'local' } }; break;
          case 'VolumeDriver.Create':
            if (!v) volumes.set(name, { dir: join(work, 'plugin-data', name), mounts: new Set() });
            reply = { Err: '' };
            break;
          case 'VolumeDriver.Get': reply = v ? { Volume: { Name: name, Mountpoint: v.mounts.size ? v.dir : '', Status: { mounts: v.mounts.size } } } : { Err: 'no such volume' }; break;
          case 'VolumeDriver.List': reply = o.failList ? { Err: 'backend offline' } : { Volumes: [...volumes.keys()].map((n) => ({ Name: n })) }; break;
          case 'VolumeDriver.Path': reply = v ? { Mountpoint: v.mounts.size ? v.dir : '' } : { Err: 'no such volume' }; break;
          case 'VolumeDriver.Mount':
            if (!v) { reply = { Err: 'no such volume' }; break; }
            await mkdir(v.dir, { recursive: true });
            v.mounts.add(body.ID as string);
            reply = { Mountpoint: v.dir };
            break;
          case 'VolumeDriver.Unmount': v?.mounts.delete(body.ID as string); reply = {}; break;
          case 'VolumeDriver.Remove':
            if (v?.mounts.size) { reply = { Err: 'volume is mounted' }; break; }
            volumes.delete(name);
            reply = {};
            break;
          default: res.writeHead(404); res.end('{"Err":"unknown method"}'); return;
        }
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.plugins.v1+json' });
        res.end(JSON.stringify(reply));
      })();
    });
  });
}

async function listen(server: http.Server, path: string): Promise<void> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

before(async () => {
  d = await startWithBusybox();
  work = await mkdtemp(join(tmpdir(), 'bt-volplug-'));
  await mkdir(join(d.execRoot, 'plugins'), { recursive: true });
  await listen(plugin(['VolumeDriver']), join(d.execRoot, 'plugins', 'testplug.sock'));
  // The other form of discovery: a directory per plugin.
  await mkdir(join(d.execRoot, 'plugins', 'netonly'));
  await listen(plugin(['NetworkDriver']), join(d.execRoot, 'plugins', 'netonly', 'netonly.sock'));
});

after(async () => {
  const problems = await removeAllAndFindLeaks(d, started);
  for (const s of servers) await new Promise((r) => s.close(r));
  await rm(work, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('a legacy volume plugin on a unix socket is found, activated and used for create, mount, write, unmount, remove', async () => {
  await ok(['volume', 'create', '-d', 'testplug', '--opt', 'speed=fast', '--label', 'l=1', 'pv']);
  assert.deepEqual(calls.map((c) => c.method).slice(0, 1), ['Plugin.Activate']);
  assert.deepEqual(calls.find((c) => c.method === 'VolumeDriver.Create')!.body, { Name: 'pv', Opts: { speed: 'fast' } });
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'pv']));
  assert.deepEqual([v.Name, v.Driver, v.Scope, v.Labels, v.Options], ['pv', 'testplug', 'local', { l: '1' }, { speed: 'fast' }]);
  assert.deepEqual(v.Status, { mounts: 0 });
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'driver=testplug'])).trim(), 'pv');

  calls.length = 0;
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'pv:/data', 'busybox', 'sh', '-c', 'echo via-plugin > /data/f && cat /data/f']), 'via-plugin\n');
  assert.equal(await readFile(join(work, 'plugin-data', 'pv', 'f'), 'utf8'), 'via-plugin\n');
  const mount = calls.find((c) => c.method === 'VolumeDriver.Mount')!;
  const unmount = calls.find((c) => c.method === 'VolumeDriver.Unmount')!;
  assert.equal(mount.body.Name, 'pv');
  assert.deepEqual(unmount.body, { Name: 'pv', ID: mount.body.ID });
  assert.equal(volumes.get('pv')!.mounts.size, 0);

  // --volume-driver makes the volume through the plugin when it does not exist.
  await ok(['run', '--rm', '--network', 'none', '--volume-driver', 'testplug', '-v', 'pv2:/d', 'busybox', 'true']);
  assert.ok(volumes.has('pv2'));
  assert.equal((await ok(['volume', 'inspect', '-f', '{{.Driver}}', 'pv2'])).trim(), 'testplug');
  // The name is taken by the plugin: a local create of it conflicts.
  const conflict = await d.docker(['volume', 'create', '-d', 'local', 'pv2']);
  assert.equal(conflict.stderr.trim(), "Error response from daemon: create pv2: driver 'testplug' already has volume 'pv2': volume name must be unique");

  calls.length = 0;
  await ok(['volume', 'rm', 'pv', 'pv2']);
  assert.deepEqual(calls.filter((c) => c.method === 'VolumeDriver.Remove').map((c) => c.body.Name), ['pv', 'pv2']);
  assert.equal(volumes.size, 0);
});

test('a plugin that is down, missing, or not a volume driver is a clear error', async () => {
  // A socket nobody listens on: connection refused, retried for a bounded time, then an error.
  const dead = join(d.execRoot, 'plugins', 'deadplug.sock');
  const py = await run('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(dead)})`]);
  assert.equal(py.code, 0, py.stderr);
  const r = await d.docker(['volume', 'create', '-d', 'deadplug', 'dv']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^Error response from daemon: create dv: error looking up volume plugin deadplug: legacy plugin: Post "http:\/\/.*deadplug\.sock\/Plugin\.Activate": dial unix .*deadplug\.sock: connect: connection refused/);
  await rm(dead);

  const other = await d.docker(['volume', 'create', '-d', 'netonly', 'nv']);
  assert.equal(other.stderr.trim(), 'Error response from daemon: create nv: error looking up volume plugin netonly: legacy plugin: Plugin does not implement the requested driver');
  const missing = await d.request('POST', '/volumes/create', { body: { Name: 'mv', Driver: 'nosuch' } });
  assert.equal(missing.status, 404);
  assert.equal(missing.json().message, 'create mv: error looking up volume plugin nosuch: plugin "nosuch" not found');
  assert.equal(await exists(join(d.dataRoot, 'volumes', 'dv')), false);
  // A driver that cannot list is a warning of the listing, not its failure.
  const bad = plugin(['VolumeDriver'], { failList: true });
  await listen(bad, join(d.execRoot, 'plugins', 'badlist.sock'));
  const list = await d.request('GET', '/volumes');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json().Warnings, ['list badlist: backend offline']);
  await new Promise((r) => bad.close(r));
  assert.equal((await ok(['volume', 'ls', '-q'])).trim(), '');
});

test('after a restart of berthd, a plugin\'s volumes are listed (plugins found by a scan) and their metadata kept', async () => {
  await ok(['volume', 'create', '-d', 'testplug', '--label', 'kept=yes', 'pkeep']);
  assert.equal(await d.stop(), 0);
  d = await TestDaemon.start({ dir: d.dir });
  calls.length = 0;
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'driver=testplug'])).trim(), 'pkeep');
  assert.equal(calls[0]?.method, 'Plugin.Activate');
  assert.equal((await ok(['volume', 'inspect', '-f', '{{.Driver}} {{.Labels}}', 'pkeep'])).trim(), 'testplug map[kept:yes]');
  await ok(['volume', 'rm', 'pkeep']);
  assert.equal(volumes.size, 0);
});

test('a run begun before berthd was killed still ends with the plugin\'s Unmount for its Mount', async () => {
  await ok(['run', '-d', '--name', 'pl-run', '--network', 'none', '--volume-driver', 'testplug', '-v', 'prun:/d', 'busybox', 'sleep', '300']);
  const mount = calls.filter((c) => c.method === 'VolumeDriver.Mount' && c.body.Name === 'prun').at(-1)!;
  assert.equal(volumes.get('prun')!.mounts.size, 1);
  await d.stop('SIGKILL');
  d = await TestDaemon.start({ dir: d.dir });
  // Without live-restore the container was stopped at start-up, and its volume let go.
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'pl-run'])).trim(), 'false');
  assert.ok(calls.some((c) => c.method === 'VolumeDriver.Unmount' && c.body.ID === mount.body.ID), 'Unmount with the Mount\'s ID');
  assert.equal(volumes.get('prun')!.mounts.size, 0);
  await ok(['rm', 'pl-run']);
  await ok(['volume', 'rm', 'prun']);
});

test('a plugin that accepts but never answers fails after the bounded time-out, not a hang', { timeout: 120_000 }, async () => {
  const hung = http.createServer(() => { /* never answers */ });
  await listen(hung, join(d.execRoot, 'plugins', 'hangplug.sock'));
  try {
    const r = await d.docker(['volume', 'create', '-d', 'hangplug', 'hv'], { timeoutMs: 90_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), /^Error response from daemon: create hv: error looking up volume plugin hangplug: legacy plugin: Post "http:\/\/.*hangplug\.sock\/Plugin\.Activate": plugin hangplug did not answer within 30s$/);
  } finally {
    hung.closeAllConnections();
  }
  assert.equal((await ok(['volume', 'ls', '-q'])).trim(), '');
});

test('plugins named by a .spec or .json file (an address elsewhere) are found too', async () => {
  await listen(plugin(['VolumeDriver']), join(work, 'elsewhere-spec.sock'));
  await listen(plugin(['VolumeDriver']), join(work, 'elsewhere-json.sock'));
  await writeFile(join(d.execRoot, 'plugins', 'specplug.spec'), `unix://${join(work, 'elsewhere-spec.sock')}\n`);
  await writeFile(join(d.execRoot, 'plugins', 'jsonplug.json'), JSON.stringify({ Name: 'jsonplug', Addr: `unix://${join(work, 'elsewhere-json.sock')}` }));
  await ok(['volume', 'create', '-d', 'specplug', 'sv']);
  await ok(['volume', 'create', '-d', 'jsonplug', 'jv']);
  assert.equal(await ok(['run', '--rm', '--network', 'none', '-v', 'sv:/s', '-v', 'jv:/j', 'busybox', 'sh', '-c', 'echo s > /s/f && echo j > /j/f && cat /s/f /j/f']), 's\nj\n');
  assert.equal(await readFile(join(work, 'plugin-data', 'sv', 'f'), 'utf8'), 's\n');
  assert.equal((await ok(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}'])).trim().split('\n').sort().join(','), 'jsonplug jv,specplug sv');
  await ok(['volume', 'rm', 'sv', 'jv']);
});
