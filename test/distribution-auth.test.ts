import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TestDaemon, run } from './harness.js';
import { TestRegistry } from './registry.js';
import { buildBusybox, dockerArchive } from '../src/image/builtin/busybox.js';

/**
 * docker login, push and pull against registries that ask for credentials: htpasswd basic
 * auth, and token auth through a small token server this file runs (its signing key and
 * certificate made with openssl here).
 */
let dir: string;
let busyboxId: string;
let d1: TestDaemon;
let d2: TestDaemon;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-auth-'));
  const bb = await buildBusybox();
  busyboxId = bb.id;
  await pipeline(dockerArchive(bb, ['busybox:latest']), createWriteStream(join(dir, 'busybox.tar')));
  [d1, d2] = await Promise.all([TestDaemon.start(), TestDaemon.start()]);
  assert.equal((await d1.docker(['load', '-i', join(dir, 'busybox.tar')])).code, 0);
});

after(async () => {
  const leaks = [...(await d1.cleanup()), ...(await d2.cleanup())];
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(leaks, []);
});

const login = (d: TestDaemon, host: string, user: string, password: string) =>
  d.docker(['login', '--username', user, '--password-stdin', host], { input: password });

test('htpasswd registry: no credentials, a wrong password, then login, push and pull', async () => {
  const reg = await TestRegistry.start({ htpasswd: { user: 'berth', password: 's3cret' } });
  try {
    const name = `${reg.host}/private/bb:latest`;
    assert.equal((await d1.docker(['tag', 'busybox', name])).code, 0);
    const anon = await d1.docker(['push', name]);
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr + anon.stdout, /no basic auth credentials/);

    const wrong = await login(d1, reg.host, 'berth', 'wrong');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, new RegExp(`login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`));
    const api = await d1.request('POST', '/auth', { body: { username: 'berth', password: 'nope', serveraddress: reg.host } });
    assert.equal(api.status, 401);

    const ok = await login(d1, reg.host, 'berth', 's3cret');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Login Succeeded/);
    const push = await d1.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /latest: digest: sha256:/);

    const denied = await d2.docker(['pull', name]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /no basic auth credentials/);
    assert.equal((await login(d2, reg.host, 'berth', 's3cret')).code, 0);
    const pull = await d2.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(JSON.parse((await d2.docker(['image', 'inspect', name])).stdout)[0].Id, busyboxId);
  } finally {
    await reg.stop();
  }
});

/** A token server as distribution's token auth expects: RS256 JWTs whose `kid` is libtrust's key ID. */
class TokenServer {
  readonly requests: Array<{ method: string; url: string; body: string }> = [];
  readonly #refresh = new Set<string>();
  #server!: http.Server;
  port = 0;
  constructor(readonly key: string, readonly kid: string, readonly users: Record<string, string>) {}

  get realm(): string { return `http://127.0.0.1:${this.port}/token`; }

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        this.requests.push({ method: req.method!, url: req.url!, body });
        const url = new URL(req.url!, this.realm);
        let user: string | undefined;
        let scopes: string[] = url.searchParams.getAll('scope');
        const offline = url.searchParams.get('offline_token') === 'true';
        let service = url.searchParams.get('service') ?? '';
        if (req.method === 'POST') {
          const form = new URLSearchParams(body);
          const rt = form.get('refresh_token') ?? '';
          if (!this.#refresh.has(rt)) return this.#deny(res, 'invalid refresh token');
          user = rt.split('.')[0];
          scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
          service = form.get('service') ?? '';
        } else if (req.headers.authorization) {
          const [u, p] = Buffer.from(req.headers.authorization.replace(/^Basic /, ''), 'base64').toString().split(':');
          if (!u || this.users[u] !== p) return this.#deny(res, 'incorrect username or password');
          user = u;
        }
        const access = user ? scopes.map((s) => {
          const [type, name, actions] = s.split(':');
          return { type, name, actions: actions!.split(',') };
        }) : [];
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: 'berth-test-issuer', sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
        const out: Record<string, unknown> = { token: this.#jwt(claims), expires_in: 300 };
        if (offline && user) {
          const rt = `${user}.${randomBytes(12).toString('hex')}`;
          this.#refresh.add(rt);
          out.refresh_token = rt;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      });
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  #deny(res: http.ServerResponse, details: string): void {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ details }));
  }

  #jwt(claims: object): string {
    const b64 = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');
    const head = `${b64({ typ: 'JWT', alg: 'RS256', kid: this.kid })}.${b64(claims)}`;
    return `${head}.${b64(sign('sha256', Buffer.from(head), createPrivateKey(this.key)))}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** libtrust's key ID: base32 of the first 240 bits of the SHA-256 of the DER public key, in groups of 4. */
function libtrustKeyId(certPem: string): string {
  const der = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  const sum = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of sum) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

test('token auth registry: a wrong password is refused, login keeps an identity token, push and pull work', async () => {
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  const gen = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=berth-token']);
  assert.equal(gen.code, 0, gen.stderr);
  const certPem = await readFile(cert, 'utf8');
  const tokens = new TokenServer(await readFile(key, 'utf8'), libtrustKeyId(certPem), { alice: 'wonderland' });
  await tokens.start();
  const reg = await TestRegistry.start({ token: { realm: tokens.realm, service: 'berth-registry', issuer: 'berth-test-issuer', rootCertBundle: cert } });
  try {
    const wrong = await login(d1, reg.host, 'alice', 'nope');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /unauthorized: incorrect username or password/);

    const ok = await login(d1, reg.host, 'alice', 'wonderland');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Login Succeeded/);
    // The CLI keeps the identity token berthd returned, not the password.
    const saved = JSON.parse(await readFile(join(d1.dir, 'docker-config', 'config.json'), 'utf8'));
    assert.ok(saved.auths[reg.host].identitytoken, JSON.stringify(saved));

    const name = `${reg.host}/alice/bb:v1`;
    assert.equal((await d1.docker(['tag', 'busybox', name])).code, 0);
    const push = await d1.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    assert.ok(tokens.requests.some((r) => r.method === 'POST' && r.body.includes('grant_type=refresh_token') && r.body.includes('alice%2Fbb%3Apull%2Cpush')),
      'push asked no token with the refresh token for pull,push');

    const anon = await d2.docker(['pull', name]);
    assert.notEqual(anon.code, 0);
    assert.equal((await login(d2, reg.host, 'alice', 'wonderland')).code, 0);
    const pull = await d2.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(JSON.parse((await d2.docker(['image', 'inspect', name])).stdout)[0].Id, busyboxId);
  } finally {
    await reg.stop();
    await tokens.stop();
  }
});
