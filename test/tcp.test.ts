import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon, run } from './harness.js';

/** -H tcp:// with and without TLS, on loopback only. */
let dir: string;
const daemons: TestDaemon[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-tls-'));
  const ssl = (args: string[]) => run('openssl', args, { timeoutMs: 30_000 });
  const sub = (cn: string) => ['-subj', `/CN=${cn}`];
  await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', join(dir, 'ca-key.pem'), '-out', join(dir, 'ca.pem'), ...sub('berth-test-ca')]);
  for (const [name, cn, ext] of [['server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], ['client', 'client', 'extendedKeyUsage=clientAuth']] as const) {
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}-key.pem`), '-out', join(dir, `${name}.csr`), ...sub(cn)]);
    await writeExt(join(dir, `${name}.ext`), ext);
    await ssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca-key.pem'),
      '-CAcreateserial', '-days', '1', '-out', join(dir, `${name}-cert.pem`), '-extfile', join(dir, `${name}.ext`)]);
  }
});
after(async () => {
  const leaks: string[] = [];
  // Newest first: a restarted daemon shares its directory with the one before it.
  for (const d of daemons.reverse()) leaks.push(...(await d.cleanup()));
  assert.deepEqual(leaks, []);
  await rm(dir, { recursive: true, force: true });
});

async function writeExt(path: string, ext: string) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, ext + '\n');
}

const port = () => 20000 + Math.floor(Math.random() * 20000);

test('plain TCP on loopback, alongside the unix socket', async () => {
  const p = port();
  const d = await TestDaemon.start({ args: ['-H', `tcp://127.0.0.1:${p}`] });
  daemons.push(d);
  const r = await run('docker', ['-H', `tcp://127.0.0.1:${p}`, 'version', '--format', '{{.Server.APIVersion}}']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1.41');
  assert.equal((await d.request('GET', '/_ping')).status, 200);
});

test('TCP with --tlsverify requires a client certificate signed by the CA', async () => {
  const p = port();
  const d = await TestDaemon.start({
    args: ['-H', `tcp://127.0.0.1:${p}`, '--tlsverify', '--tlscacert', join(dir, 'ca.pem'),
      '--tlscert', join(dir, 'server-cert.pem'), '--tlskey', join(dir, 'server-key.pem')],
  });
  daemons.push(d);
  const certDir = await mkdtemp(join(dir, 'client-'));
  const { copyFile } = await import('node:fs/promises');
  await copyFile(join(dir, 'ca.pem'), join(certDir, 'ca.pem'));
  await copyFile(join(dir, 'client-cert.pem'), join(certDir, 'cert.pem'));
  await copyFile(join(dir, 'client-key.pem'), join(certDir, 'key.pem'));
  const ok = await run('docker', ['-H', `tcp://127.0.0.1:${p}`, 'version', '--format', '{{.Server.APIVersion}}'],
    { env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), '1.41');
  const noCert = await run('docker', ['-H', `tcp://127.0.0.1:${p}`, '--tls', 'version'], { env: { DOCKER_CERT_PATH: dir + '/none' } });
  assert.notEqual(noCert.code, 0);
});
