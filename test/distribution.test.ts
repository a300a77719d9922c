import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run } from './harness.js';
import { TestRegistry, freePort } from './registry.js';
import { buildBusybox, dockerArchive } from '../src/image/builtin/busybox.js';
import { archive, image, layerTar } from './image-fixtures.js';

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

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Puts a blob and a manifest straight into the registry over its HTTP API (no engine). */
async function putBlob(repo: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = new URL(start.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(put.status, 201, await put.text());
  return digest;
}

async function putManifest(repo: string, ref: string, body: unknown, mediaType: string): Promise<string> {
  const data = Buffer.from(JSON.stringify(body));
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': mediaType } });
  assert.equal(res.status, 201, await res.text());
  return sha(data);
}

/** A one-layer image pushed raw: gzip layer, config, schema 2 or OCI manifest. */
async function rawImage(repo: string, files: Record<string, string>, opts: { arch?: string; oci?: boolean } = {}) {
  const tar = await layerTar(Object.entries(files).map(([name, content]) => ({ name, type: 'file' as const, mode: 0o644, content })));
  const gz = gzipSync(tar);
  const layerDigest = await putBlob(repo, gz);
  const config = Buffer.from(JSON.stringify({
    architecture: opts.arch ?? 'amd64', os: 'linux', created: '2021-01-01T00:00:00Z',
    config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha(tar)] },
    history: [{ created: '2021-01-01T00:00:00Z', created_by: 'test' }],
  }));
  const configDigest = await putBlob(repo, config);
  const mt = opts.oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = {
    schemaVersion: 2, mediaType: mt,
    config: { mediaType: opts.oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
    layers: [{ mediaType: opts.oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: layerDigest }],
  };
  const data = Buffer.from(JSON.stringify(manifest));
  const digest = await putManifest(repo, sha(data), manifest, mt);
  return { id: sha(config), digest, size: data.length, mediaType: mt, layerDigest };
}

test('pull by digest records the digest reference; an unknown tag is a 404 with dockerd words', async () => {
  const name = `${reg.host}/busybox`;
  const digest = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${name}:latest`])).stdout).Digest as string;
  await d2.docker(['rmi', '-f', `${name}:latest`]);
  const pull = await d2.docker(['pull', `${name}@${digest}`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${name}@${digest}`));
  const img = JSON.parse((await d2.docker(['image', 'inspect', `${name}@${digest}`])).stdout)[0];
  assert.equal(img.Id, busyboxId);
  assert.deepEqual(img.RepoTags, []);
  const missing = await d2.docker(['pull', `${reg.host}/busybox:nosuchtag`]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, new RegExp(`manifest for ${reg.host}/busybox:nosuchtag not found: manifest unknown: manifest unknown`));
  const api = await d2.request('POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/nosuchrepo`)}&tag=latest`);
  assert.equal(api.status, 404);
});

test('the progress stream is dockerd\'s jsonmessage stream', async () => {
  const name = `${reg.host}/busybox`;
  await d2.docker(['rmi', '-f', busyboxId]);
  const r = await d2.request('POST', `/images/create?fromImage=${encodeURIComponent(name)}&tag=latest`);
  assert.equal(r.status, 200);
  const lines = r.body.trim().split('\n').map((l) => JSON.parse(l));
  const layerId = lines.find((l) => l.status === 'Pulling fs layer').id as string;
  assert.match(layerId, /^[0-9a-f]{12}$/);
  assert.deepEqual(lines[0], { status: 'Pulling from busybox', id: 'latest' });
  const statuses = lines.filter((l) => l.id === layerId).map((l) => l.status);
  for (const s of ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) {
    assert.ok(statuses.includes(s), `${s} missing in ${statuses.join(', ')}`);
  }
  const dl = lines.find((l) => l.status === 'Downloading');
  assert.ok(dl.progressDetail.total > 0 && typeof dl.progress === 'string', JSON.stringify(dl));
  assert.match(lines.at(-2).status, /^Digest: sha256:[0-9a-f]{64}$/);
  assert.equal(lines.at(-1).status, `Status: Downloaded newer image for ${name}:latest`);
  const events = await d2.request('GET', `/events?since=0&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ event: ['pull'] }))}`);
  assert.match(events.body, new RegExp(`"Action":"pull".*"name":"${name}:latest"`));
});

test('a second push to another repository mounts the layer; the first says it exists', async () => {
  const other = `${reg.host}/team/copy:v1`;
  assert.equal((await d1.docker(['tag', 'busybox', other])).code, 0);
  const push = await d1.docker(['push', other]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /Mounted from busybox/);
  const mounts = reg.log.split('\n').filter((l) => /"POST \/v2\/team\/copy\/blobs\/uploads\/\?mount=sha256(%3A|:)[0-9a-f]{64}&from=busybox HTTP\/1.1" 201/.test(l));
  assert.equal(mounts.length, 1, 'the registry logged no cross-repository mount');
  const again = await d1.docker(['push', `${reg.host}/busybox:latest`]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Layer already exists/);
  assert.doesNotMatch(again.stdout, /Pushed/);
});

test('layers the host has say "Already exists"; a multi-layer image comes back whole', async () => {
  const base = await layerTar([{ name: 'base.txt', type: 'file', mode: 0o644, content: 'base\n' }]);
  const top = await layerTar([{ name: 'top.txt', type: 'file', mode: 0o644, content: 'top\n' }]);
  const a = image([base]);
  const b = image([base, top], { config: { Cmd: ['cat', '/top.txt'] } });
  const tar = join(dir, 'ab.tar');
  await pipeline(archive([{ img: a, tags: [`${reg.host}/layers:a`] }, { img: b, tags: [`${reg.host}/layers:b`] }]), createWriteStream(tar));
  assert.equal((await d1.docker(['load', '-i', tar])).code, 0);
  for (const t of ['a', 'b']) {
    const p = await d1.docker(['push', `${reg.host}/layers:${t}`]);
    assert.equal(p.code, 0, p.stderr);
  }
  assert.equal((await d2.docker(['pull', `${reg.host}/layers:a`])).code, 0);
  const pb = await d2.docker(['pull', `${reg.host}/layers:b`]);
  assert.equal(pb.code, 0, pb.stderr);
  assert.match(pb.stdout, /Already exists/);
  assert.match(pb.stdout, /Pull complete/);
  const img = JSON.parse((await d2.docker(['image', 'inspect', `${reg.host}/layers:b`])).stdout)[0];
  assert.equal(img.Id, b.id);
  assert.deepEqual(img.RootFS.Layers, b.diffIds);
});

test('a multi-platform index: linux/amd64 is picked; /distribution inspect lists the platforms', async () => {
  const amd = await rawImage('multi', { 'arch.txt': 'amd64\n' });
  const arm = await rawImage('multi', { 'arch.txt': 'arm64\n' }, { arch: 'arm64' });
  const index = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: arm.mediaType, size: arm.size, digest: arm.digest, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      { mediaType: amd.mediaType, size: amd.size, digest: amd.digest, platform: { architecture: 'amd64', os: 'linux' } },
    ],
  };
  const indexDigest = await putManifest('multi', 'latest', index, 'application/vnd.oci.image.index.v1+json');
  const pull = await d2.docker(['pull', `${reg.host}/multi:latest`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, new RegExp(`Digest: ${indexDigest}`));
  const img = JSON.parse((await d2.docker(['image', 'inspect', `${reg.host}/multi:latest`])).stdout)[0];
  assert.equal(img.Id, amd.id);
  assert.equal(img.Architecture, 'amd64');
  assert.deepEqual(img.RepoDigests, [`${reg.host}/multi@${indexDigest}`]);
  const armPull = await d2.request('POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/multi`)}&tag=latest&platform=linux/arm64`);
  assert.equal(armPull.status, 200, armPull.body);
  assert.equal(JSON.parse((await d2.docker(['image', 'inspect', `${reg.host}/multi:latest`])).stdout)[0].Id, arm.id);
  const none = await d2.request('POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/multi`)}&tag=latest&platform=linux/s390x`);
  assert.equal(none.status, 404);
  assert.match(none.json().message, /no matching manifest for linux\/s390x in the manifest list entries/);
  const inspect = await d2.request('GET', `/distribution/${reg.host}/multi:latest/json`);
  assert.equal(inspect.status, 200, inspect.body);
  const di = inspect.json();
  assert.equal(di.Descriptor.digest, indexDigest);
  assert.deepEqual(di.Platforms.map((p: { architecture: string }) => p.architecture).sort(), ['amd64', 'arm64']);
});

test('an OCI image (skopeo --format oci) pulls', async () => {
  const dest = `${reg.host}/oci:latest`;
  const cp = await run('skopeo', ['copy', '--format', 'oci', '--dest-tls-verify=false', `docker-archive:${join(dir, 'busybox.tar')}`, `docker://${dest}`]);
  assert.equal(cp.code, 0, cp.stderr);
  const raw = await fetch(`${reg.url}/v2/oci/manifests/latest`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(raw.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
  const pull = await d2.docker(['pull', dest]);
  assert.equal(pull.code, 0, pull.stderr);
  const img = JSON.parse((await d2.docker(['image', 'inspect', dest])).stdout)[0];
  assert.equal(img.RootFS.Layers.length, 1);
  const runIt = await d2.docker(['run', '--rm', '--network', 'none', dest, 'echo', 'oci']);
  assert.equal(runIt.stdout.trim(), 'oci', runIt.stderr);
});

test('a blob whose content does not match its digest fails the pull and keeps nothing', async () => {
  const bad = await rawImage('tampered', { 'x.txt': 'genuine content\n' });
  const path = reg.blobPath(bad.layerDigest);
  const orig = await readFile(path);
  // Same length, other bytes: only the digest can tell.
  const forged = gzipSync(await layerTar([{ name: 'x.txt', type: 'file', mode: 0o644, content: 'forged content!\n' }]));
  await writeFile(path, forged.length === orig.length ? forged : Buffer.concat([forged]));
  const before = await layerDirs(d2);
  const pull = await d2.docker(['pull', `${reg.host}/tampered@${bad.digest}`]);
  assert.notEqual(pull.code, 0);
  assert.match(pull.stderr + pull.stdout, new RegExp(`filesystem layer verification failed for digest ${bad.layerDigest}`));
  assert.equal((await d2.docker(['image', 'inspect', bad.id])).code, 1);
  assert.deepEqual(await layerDirs(d2), before);
});

test('--registry-mirror: a mirror that is down or lacks the image falls back to the next endpoint', async () => {
  // The last mirror (the test's registry) holds the image, so no attempt goes on to Docker Hub.
  const name = `${reg.host}/library/fallback:latest`;
  assert.equal((await d1.docker(['tag', 'busybox', name])).code, 0);
  assert.equal((await d1.docker(['push', name])).code, 0);
  const empty = await TestRegistry.start();
  const down = `http://127.0.0.1:${await freePort()}`;
  const d3 = await TestDaemon.start({ config: { 'registry-mirrors': [empty.url, down, reg.url] } });
  try {
    const before = await layerDirs(d3);
    const pull = await d3.docker(['pull', 'fallback']);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /Status: Downloaded newer image for fallback:latest/);
    const img = JSON.parse((await d3.docker(['image', 'inspect', 'fallback'])).stdout)[0];
    assert.equal(img.Id, busyboxId);
    assert.match(img.RepoDigests[0], /^fallback@sha256:[0-9a-f]{64}$/);
    // Each mirror was asked in order: the empty one answered that it has no such manifest.
    assert.match(empty.log, /GET \/v2\/library\/fallback\/manifests\/latest[^\n]*" 404 /);
    assert.equal((await layerDirs(d3)).length, before.length + 1);
  } finally {
    assert.deepEqual(await d3.cleanup(), []);
    await empty.stop();
  }
});

async function layerDirs(d: TestDaemon): Promise<string[]> {
  const root = join(d.dataRoot, 'image');
  const [driver] = await readdir(root);
  return (await readdir(join(root, driver!, 'layerdb', 'sha256'))).sort();
}

test('--registry-mirror: a docker.io name is pulled from the mirror, which docker info lists', async () => {
  // The mirror (the test's registry) holds the image, so the pull never needs Docker Hub.
  const mirrored = `${reg.host}/library/mirrored:latest`;
  assert.equal((await d1.docker(['tag', 'busybox', mirrored])).code, 0);
  const push = await d1.docker(['push', mirrored]);
  assert.equal(push.code, 0, push.stderr);
  const d3 = await TestDaemon.start({ config: { 'registry-mirrors': [reg.url] } });
  try {
    const info = JSON.parse((await d3.docker(['info', '--format', '{{json .RegistryConfig}}'])).stdout);
    assert.deepEqual(info.Mirrors, [`${reg.url}/`]);
    assert.deepEqual(info.IndexConfigs['docker.io'].Mirrors, [`${reg.url}/`]);
    const pull = await d3.docker(['pull', 'mirrored']);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /Status: Downloaded newer image for mirrored:latest/);
    const img = JSON.parse((await d3.docker(['image', 'inspect', 'mirrored'])).stdout)[0];
    assert.equal(img.Id, busyboxId);
    assert.deepEqual(img.RepoTags, ['mirrored:latest']);
    assert.match(img.RepoDigests[0], /^mirrored@sha256:[0-9a-f]{64}$/);
  } finally {
    assert.deepEqual(await d3.cleanup(), []);
  }
});
