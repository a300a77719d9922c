import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './harness.js';

/**
 * Debian's docker-registry (distribution 2.8) started for one test on 127.0.0.1 and a free
 * port, with its storage in a temp directory; optionally with htpasswd basic auth, token auth
 * (the test supplies the realm and the certificate bundle) or TLS (a self-signed certificate
 * made with openssl). `stop()` ends it by pid and removes its directory.
 */
export interface RegistryOptions {
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** TLS with a self-signed certificate; `clientCa` makes the registry require client certificates signed by it. */
  tls?: boolean | { clientCa: string };
}

export class TestRegistry {
  readonly dir: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';
  /** The certificate the registry serves, when TLS is on. */
  readonly cert?: string;

  private constructor(dir: string, port: number, child: ChildProcess, cert?: string) {
    this.dir = dir;
    this.port = port;
    this.#child = child;
    this.cert = cert;
    child.stdout!.on('data', (d: Buffer) => { this.#log += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { this.#log += d.toString(); });
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get host(): string { return `127.0.0.1:${this.port}`; }
  get storage(): string { return join(this.dir, 'storage'); }
  get pid(): number { return this.#child.pid!; }
  /** Everything the registry logged (its access log included). */
  get log(): string { return this.#log; }
  get url(): string { return `${this.cert ? 'https' : 'http'}://${this.host}`; }

  static async start(opts: RegistryOptions = {}): Promise<TestRegistry> {
    const dir = await mkdtemp(join(tmpdir(), 'bt-reg-'));
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log:',
      '  level: info',
      '  formatter: text',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: berth-test-secret',
    ];
    let cert: string | undefined;
    if (opts.tls) {
      cert = join(dir, 'domain.crt');
      const key = join(dir, 'domain.key');
      const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
        '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
      if (r.code !== 0) throw new Error(`openssl: ${r.stderr}`);
      lines.push('  tls:', `    certificate: ${cert}`, `    key: ${key}`);
      if (typeof opts.tls === 'object') lines.push('    clientcas:', `      - ${opts.tls.clientCa}`);
    }
    if (opts.htpasswd) {
      const r = await run('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
      if (r.code !== 0) throw new Error(`htpasswd: ${r.stderr}`);
      await writeFile(join(dir, 'htpasswd'), r.stdout.trim() + '\n');
      lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
    } else if (opts.token) {
      lines.push('auth:', '  token:', `    realm: ${opts.token.realm}`, `    service: ${opts.token.service}`,
        `    issuer: ${opts.token.issuer}`, `    rootcertbundle: ${opts.token.rootCertBundle}`);
    }
    await writeFile(join(dir, 'config.yml'), lines.join('\n') + '\n');
    const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reg = new TestRegistry(dir, port, child, cert);
    await reg.#waitReady();
    return reg;
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    let gone = false;
    void this.#exited.then(() => { gone = true; });
    while (Date.now() < deadline) {
      if (gone) throw new Error(`docker-registry exited:\n${this.#log}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = new Socket();
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
        s.connect(this.port, '127.0.0.1');
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`docker-registry did not listen:\n${this.#log}`);
  }

  /** Path of a blob's data file in the registry's storage. */
  blobPath(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    return join(this.storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }

  async readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /** Stops the registry (SIGTERM, then SIGKILL) and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; the listener closes at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
