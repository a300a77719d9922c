import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run } from './harness.js';
import { buildBusybox, dockerArchive } from '../src/image/builtin/busybox.js';
import { archive, image, layerTar, toBuffer } from './image-fixtures.js';
import { readTar } from '../src/archive/reader.js';
import { chainIds } from '../src/image/layer/chain.js';

let d: TestDaemon;
let dir: string;
let busyboxTar: string;
let busyboxId: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-img-'));
  const bb = await buildBusybox();
  busyboxId = bb.id;
  busyboxTar = join(dir, 'busybox.tar');
  await pipeline(dockerArchive(bb, ['busybox:latest']), createWriteStream(busyboxTar));
  d = await TestDaemon.start();
});

after(async () => {
  const leaks = await d.cleanup();
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

async function writeArchive(name: string, stream: NodeJS.ReadableStream): Promise<string> {
  const path = join(dir, name);
  await pipeline(stream, createWriteStream(path));
  return path;
}

test('docker load of the busybox archive, then images, inspect, history', async () => {
  const r = await d.docker(['load', '-i', busyboxTar]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: busybox:latest/);
  const images = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.equal(images.code, 0, images.stderr);
  assert.equal(images.stdout.trim(), `busybox:latest ${busyboxId.slice(7, 19)}`);
  const inspect = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout)[0];
  assert.equal(inspect.Id, busyboxId);
  assert.deepEqual(inspect.RepoTags, ['busybox:latest']);
  assert.deepEqual(inspect.Config.Cmd, ['sh']);
  assert.equal(inspect.RootFS.Layers.length, 1);
  assert.ok(inspect.Size > 1_000_000, String(inspect.Size));
  const history = await d.docker(['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}}', 'busybox']);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, new RegExp(`^${busyboxId} berth: busybox`));
  // Short ID and full ID resolve too; an unknown name is a 404 with dockerd's words.
  assert.equal((await d.docker(['image', 'inspect', busyboxId.slice(7, 19)])).code, 0);
  const missing = await d.docker(['image', 'inspect', 'nosuch:image']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such image: nosuch:image/);
});

test('tag and rmi: untag first, delete with the last reference', async () => {
  assert.equal((await d.docker(['tag', 'busybox', 'localhost:5000/team/bb:v1'])).code, 0);
  const tags = (await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();
  assert.deepEqual(tags, ['busybox:latest', 'localhost:5000/team/bb:v1']);
  const byId = await d.docker(['rmi', busyboxId.slice(7, 19)]);
  assert.notEqual(byId.code, 0);
  assert.match(byId.stderr, /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in one or more repositories/);
  const untag = await d.docker(['rmi', 'localhost:5000/team/bb:v1']);
  assert.equal(untag.code, 0, untag.stderr);
  assert.match(untag.stdout, /Untagged: localhost:5000\/team\/bb:v1/);
  assert.doesNotMatch(untag.stdout, /Deleted/);
  const bad = await d.request('POST', '/images/busybox/tag?repo=Bad_Name');
  assert.equal(bad.status, 400);
  assert.match(bad.json().message, /invalid reference format/);
});

test('save then load gives the same image ID and diff IDs', async () => {
  const saved = join(dir, 'saved.tar');
  const r = await d.docker(['save', '-o', saved, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  const names: string[] = [];
  const { createReadStream } = await import('node:fs');
  for await (const e of readTar(createReadStream(saved))) { names.push(e.header.name); e.body.resume(); }
  assert.ok(names.includes('manifest.json'), names.join(','));
  const before = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout)[0];
  assert.equal((await d.docker(['rmi', 'busybox'])).code, 0);
  assert.equal((await d.docker(['images', '-q'])).stdout.trim(), '');
  const load = await d.docker(['load', '-i', saved]);
  assert.equal(load.code, 0, load.stderr);
  const after = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout)[0];
  assert.equal(after.Id, before.Id);
  assert.deepEqual(after.RootFS.Layers, before.RootFS.Layers);
});

test('whiteouts survive load, save and load', async () => {
  const base = await layerTar([
    { name: 'dir/', type: 'dir', mode: 0o755 }, { name: 'dir/a', type: 'file', content: 'a' },
    { name: 'gone', type: 'file', content: 'x' }, { name: 'opq/', type: 'dir' }, { name: 'opq/old', type: 'file', content: 'o' },
  ]);
  const top = await layerTar([
    { name: '.wh.gone', type: 'file' }, { name: 'dir/', type: 'dir', mode: 0o755 }, { name: 'dir/.wh.a', type: 'file' },
    { name: 'opq/', type: 'dir' }, { name: 'opq/.wh..wh..opq', type: 'file' }, { name: 'opq/new', type: 'file', content: 'n' },
  ]);
  const img = image([base, top]);
  const path = await writeArchive('wh.tar', archive([{ img, tags: ['wh:1'] }]));
  const r = await d.docker(['load', '-i', path]);
  assert.equal(r.code, 0, r.stderr);
  const saved = join(dir, 'wh-saved.tar');
  assert.equal((await d.docker(['save', '-o', saved, 'wh:1'])).code, 0);
  assert.equal((await d.docker(['rmi', 'wh:1'])).code, 0);
  const again = await d.docker(['load', '-i', saved]);
  assert.equal(again.code, 0, again.stderr);
  const inspect = JSON.parse((await d.docker(['image', 'inspect', 'wh:1'])).stdout)[0];
  assert.equal(inspect.Id, img.id);
  assert.deepEqual(inspect.RootFS.Layers, img.diffIds);
  assert.equal((await d.docker(['rmi', 'wh:1'])).code, 0);
});

test('a 120-layer image loads and saves back identically', async () => {
  const layers: Buffer[] = [];
  for (let i = 0; i < 120; i++) layers.push(await layerTar([{ name: `f${i}`, type: 'file', content: `layer ${i}\n` }]));
  const img = image(layers);
  const path = await writeArchive('deep.tar', archive([{ img, tags: ['deep:120'] }]));
  const r = await d.docker(['load', '-i', path]);
  assert.equal(r.code, 0, r.stderr);
  const inspect = JSON.parse((await d.docker(['image', 'inspect', 'deep:120'])).stdout)[0];
  assert.equal(inspect.Id, img.id);
  assert.equal(inspect.RootFS.Layers.length, 120);
  const saved = await toBuffer((await fetchSave(d, 'deep:120')));
  assert.ok(saved.length > 120 * 1024);
  assert.equal((await d.docker(['rmi', 'deep:120'])).code, 0);
});

async function fetchSave(daemon: TestDaemon, name: string) {
  const http = await import('node:http');
  return new Promise<import('node:stream').Readable>((resolve, reject) => {
    http.get({ socketPath: daemon.socket, path: `/images/${encodeURIComponent(name)}/get` }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      else resolve(res);
    }).on('error', reject);
  });
}

const hostile: Array<[string, () => Promise<Buffer>]> = [
  ['a .. path that escapes', () => layerTar([{ name: '../../escaped-dotdot', type: 'file', content: 'x' }])],
  ['a hard link to a file outside', () => layerTar([{ name: 'h', type: 'link', linkname: '../../../../etc/hostname' }])],
  ['a write through a symlink', () => layerTar([
    { name: 'link', type: 'symlink', linkname: '/CANARY' }, { name: 'link/escaped-symlink', type: 'file', content: 'x' },
  ])],
  ['a relative symlink escape', () => layerTar([
    { name: 'up', type: 'symlink', linkname: '../../../../../../CANARY' }, { name: 'up/escaped-rel', type: 'file', content: 'x' },
  ])],
];

// Small layers are spooled; large ones (over 1 MiB) are applied while the archive streams.
for (const [what, make] of hostile.flatMap(([w, m]) => [
  [w, m] as const,
  [`${w} (large layer)`, async () => {
    const t = await m();
    const pad = await layerTar([{ name: 'padding', type: 'file', content: Buffer.alloc(1_500_000, 7) }]);
    // The padding file first, then the hostile entries (drop the padding tar's end blocks).
    return Buffer.concat([pad.subarray(0, pad.length - 1024), t]);
  }] as const,
])) {
  test(`docker load refuses ${what} with a 400 and leaves nothing behind`, async () => {
    const canary = await mkdtemp(join(tmpdir(), 'bt-canary-'));
    try {
      const tar = (await make()).toString('latin1').replaceAll('/CANARY', canary);
      const img = image([Buffer.from(tar, 'latin1')]);
      const path = await writeArchive(`hostile-${what.replace(/\W+/g, '-')}.tar`, archive([{ img, tags: ['hostile:1'] }]));
      const { createReadStream } = await import('node:fs');
      const http = await import('node:http');
      const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ socketPath: d.socket, method: 'POST', path: '/images/load?quiet=1', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => { body += c; });
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        createReadStream(path).pipe(req);
      });
      assert.equal(status.status, 400, status.body);
      assert.deepEqual(await readdir(canary), []);
      const layerdb = join(d.dataRoot, 'image');
      const images = await d.docker(['images', '-q', 'hostile']);
      assert.equal(images.stdout.trim(), '');
      await stat(layerdb);
    } finally {
      await rm(canary, { recursive: true, force: true });
    }
  });
}

test('docker import with --change and --message', async () => {
  const rootfs = await layerTar([{ name: 'hello.txt', type: 'file', content: 'hi\n' }]);
  const path = join(dir, 'rootfs.tar');
  await writeFile(path, rootfs);
  const r = await d.docker(['import', '--change', 'CMD ["/hello"]', '--change', 'ENV A=1', '--change', 'LABEL team=x',
    '--message', 'made by a test', path, 'imported:1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  const inspect = JSON.parse((await d.docker(['image', 'inspect', 'imported:1'])).stdout)[0];
  assert.deepEqual(inspect.Config.Cmd, ['/hello']);
  assert.ok(inspect.Config.Env.includes('A=1'));
  assert.deepEqual(inspect.Config.Labels, { team: 'x' });
  assert.equal(inspect.Comment, 'made by a test');
  const bad = await d.docker(['import', '--change', 'RUN echo', path, 'imported:2']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /run is not a valid change command/);
  assert.equal((await d.docker(['rmi', 'imported:1'])).code, 0);
});

test('a SIGKILL during a load leaves no half image after restart', async () => {
  const big: Buffer[] = [];
  for (let i = 0; i < 8; i++) big.push(await layerTar([{ name: `blob${i}`, type: 'file', content: Buffer.alloc(8 << 20, i) }]));
  const img = image(big);
  const path = await writeArchive('big.tar', archive([{ img, tags: ['big:1'] }]));
  const load = run('docker', ['load', '-i', path], { env: { DOCKER_HOST: d.host } });
  // Kill the daemon while the layers are being registered.
  const layerdb = join(d.dataRoot, 'image');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const entries = await readdir(join(layerdb, 'overlay2', 'layerdb', 'sha256')).catch(() => [] as string[]);
    if (entries.length >= 3) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  await d.stop('SIGKILL');
  await load;
  d = await TestDaemon.start({ dir: d.dir });
  const ids = (await d.docker(['images', '-q', '--no-trunc'])).stdout;
  assert.ok(!ids.includes(img.id), 'the half-loaded image must not exist');
  // Layers of the cut load are gone too: what is left is exactly the layers of the images.
  const expected = new Set<string>();
  for (const id of ids.trim().split('\n').filter(Boolean)) {
    const diffIds = JSON.parse((await d.docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', id])).stdout);
    for (const c of chainIds(diffIds)) expected.add(c.slice(7));
  }
  const layers = (await readdir(join(layerdb, 'overlay2', 'layerdb', 'sha256'))).sort();
  assert.deepEqual(layers, [...expected].sort());
  // No layer directory of the cut load is left on disk either.
  const dirsOnDisk = (await readdir(join(d.dataRoot, 'overlay2'))).filter((n) => /^[0-9a-f]{64}$/.test(n));
  assert.equal(dirsOnDisk.length, expected.size);
});
