import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run } from './harness.js';
import { TestRegistry } from './registry.js';
import { archive, image, layerTar } from './image-fixtures.js';

/**
 * A registry that goes away in the middle of a pull: a proxy in front of the real registry
 * passes the first megabyte of the big layer, then the registry is stopped and the
 * connection cut. The pull must fail with a clear error and leave nothing behind.
 */
let dir: string;
let reg: TestRegistry;
let d1: TestDaemon;
let d2: TestDaemon;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-fail-'));
  [reg, d1, d2] = await Promise.all([
    TestRegistry.start(), TestDaemon.start(), TestDaemon.start({ args: ['--max-download-attempts', '2'] }),
  ]);
});

after(async () => {
  const leaks = [...(await d1.cleanup()), ...(await d2.cleanup())];
  await reg.stop();
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

async function layerDirs(d: TestDaemon): Promise<{ layers: string[]; tmp: string[] }> {
  const root = join(d.dataRoot, 'image');
  const [driver] = await readdir(root);
  return {
    layers: (await readdir(join(root, driver!, 'layerdb', 'sha256'))).sort(),
    tmp: await readdir(join(root, driver!, 'layerdb', 'tmp')),
  };
}

test('a registry that stops mid-pull: a clear error after the retries, nothing half-stored', async () => {
  const small = await layerTar([{ name: 'small.txt', type: 'file', mode: 0o644, content: 'small\n' }]);
  const big = await layerTar([{ name: 'big.bin', type: 'file', mode: 0o644, content: randomBytes(12 * 1024 * 1024) }]);
  const img = image([small, big]);
  const name = `${reg.host}/big:latest`;
  const tar = join(dir, 'big.tar');
  await pipeline(archive([{ img, tags: [name] }]), createWriteStream(tar));
  assert.equal((await d1.docker(['load', '-i', tar])).code, 0);
  const push = await d1.docker(['push', name]);
  assert.equal(push.code, 0, push.stderr);

  let cut = false;
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: reg.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode!, ur.headers);
      const isBig = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url!) && Number(ur.headers['content-length']) > 8_000_000;
      if (!isBig) { ur.pipe(res); return; }
      let n = 0;
      ur.on('data', (c: Buffer) => {
        if (cut) return;
        n += c.length;
        if (n < 1_000_000) { res.write(c); return; }
        cut = true;
        ur.destroy();
        void reg.kill().then(() => res.socket?.destroy());
      });
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  try {
    const before = await layerDirs(d2);
    const pull = await d2.docker(['pull', `127.0.0.1:${port}/big:latest`]);
    assert.notEqual(pull.code, 0);
    assert.ok(cut, 'the proxy never cut the transfer');
    assert.match(pull.stdout, /Retrying in 1 second/);
    assert.match(pull.stderr, /unexpected EOF|connection refused/);
    assert.equal((await d2.docker(['image', 'inspect', img.id])).code, 1);
    assert.deepEqual(await layerDirs(d2), before);
  } finally {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

test('a TLS registry that wants a client certificate: berthd presents the one in certs.d', async () => {
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const ssl = async (args: string[]) => { const r = await run('openssl', args); assert.equal(r.code, 0, r.stderr); };
  await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=berth-test-ca']);
  const tlsReg = await TestRegistry.start({ tls: { clientCa: ca } });
  const certs = join('/etc/berth/certs.d', tlsReg.host);
  try {
    const name = `${tlsReg.host}/secure:latest`;
    const tag = await d1.docker(['tag', (await d1.docker(['images', '-q'])).stdout.trim().split('\n')[0]!, name]);
    assert.equal(tag.code, 0, tag.stderr);
    const refused = await d1.docker(['push', name]);
    assert.notEqual(refused.code, 0, 'the registry took a push without a client certificate');
    await mkdir(certs, { recursive: true });
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certs, 'client.key'), '-out', join(dir, 'client.csr'), '-subj', '/CN=berth-client']);
    await ssl(['x509', '-req', '-in', join(dir, 'client.csr'), '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', join(certs, 'client.cert'), '-days', '2']);
    // certs.d is read on each transfer: no restart needed.
    const ok = await d1.docker(['push', name]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(tlsReg.log, /"PUT \/v2\/secure\/manifests\/latest HTTP\/[12](\.[01])?" 201/);
  } finally {
    await rm(certs, { recursive: true, force: true });
    await tlsReg.stop();
  }
});
