import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, access } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';

/**
 * Starts a real berthd for a test: its own socket, data root, exec root, bridge name and
 * subnet in a temp directory, so test files can run side by side. `stop()` ends it and
 * checks that no process, mount or socket it made is left behind.
 */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BERTHD = join(ROOT, 'bin', 'berthd');

export interface StartOptions {
  /** Extra dockerd-style flags. */
  args?: string[];
  /** daemon.json content written to the daemon's own config file. */
  config?: Record<string, unknown>;
  /** Reuse the directories of an earlier daemon (restart tests). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let subnetCounter = 0;

export class TestDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly #child: ChildProcess;
  #stderr = '';
  #exited: Promise<number | null>;

  private constructor(dir: string, child: ChildProcess, bridge: string, subnet: string) {
    this.dir = dir;
    this.socket = join(dir, 'berth.sock');
    this.dataRoot = join(dir, 'data');
    this.execRoot = join(dir, 'exec');
    this.bridge = bridge;
    this.subnet = subnet;
    this.#child = child;
    child.stderr!.on('data', (d: Buffer) => { this.#stderr += d.toString(); });
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  get pid(): number { return this.#child.pid!; }
  get logs(): string { return this.#stderr; }
  get host(): string { return `unix://${this.socket}`; }
  get exited(): Promise<number | null> { return this.#exited; }

  /** The flags the harness gives every daemon; `args` come after and may add more. */
  static flags(dir: string): string[] {
    return [
      '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
      '-H', `unix://${join(dir, 'berth.sock')}`, '--pidfile', join(dir, 'exec', 'berth.pid'),
      '--config-file', join(dir, 'daemon.json'),
    ];
  }

  static async start(opts: StartOptions = {}): Promise<TestDaemon> {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'bt-')));
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(opts.config ?? {}));
    // A restart on a kept directory keeps its bridge and subnet.
    const kept = await readFile(join(dir, 'bridge.json'), 'utf8').then((t) => JSON.parse(t) as { id: string; n: number }, () => undefined);
    const id = kept?.id ?? randomBytes(2).toString('hex');
    const n = kept?.n ?? (process.pid + subnetCounter++) % 200;
    await writeFile(join(dir, 'bridge.json'), JSON.stringify({ id, n }));
    // dockerd's -b names an existing bridge (and excludes --bip): the harness makes it, addressed.
    if (!kept) await run('ip', ['-batch', '-'], { input: `link add name bt${id} type bridge\naddr add 10.213.${n}.1/24 dev bt${id}\n` });
    const bridgeArgs = ['-b', `bt${id}`];
    const child = spawn(BERTHD, [...TestDaemon.flags(dir), ...bridgeArgs, ...(opts.args ?? [])], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    const d = new TestDaemon(dir, child, `bt${id}`, `10.213.${n}.0/24`);
    try {
      await d.#waitReady(30_000);
    } catch (err) {
      // A daemon that never got ready must not keep the test process alive.
      const containerd = await d.containerdPid();
      child.kill('SIGKILL');
      if (containerd) try { process.kill(containerd, 'SIGKILL'); } catch { /* gone */ }
      if (!kept) await run('ip', ['link', 'del', `bt${id}`]);
      throw err;
    }
    return d;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited: number | null | undefined;
    void this.#exited.then((c) => { exited = c; });
    while (Date.now() < deadline) {
      if (exited !== undefined) throw new Error(`berthd exited with ${exited} before it was ready:\n${this.#stderr}`);
      try {
        const r = await this.request('GET', '/_ping');
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`berthd was not ready within ${timeoutMs} ms; the last of its log:\n${this.#stderr.split('\n').slice(-80).join('\n')}`);
  }

  /** One raw API request over the daemon's socket. */
  request(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}):
    Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; json: () => any }> {
    return rawRequest(this.socket, method, path, opts);
  }

  /** Runs the real docker CLI against this daemon. */
  docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Result> {
    return run('docker', args, { env: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'docker-config') }, ...opts });
  }

  dockerode(): Docker {
    return new Docker({ socketPath: this.socket });
  }

  async containerdPid(): Promise<number | undefined> {
    const text = await readFile(join(this.execRoot, 'containerd', 'containerd.pid'), 'utf8').catch(() => '');
    return Number(text.trim()) || undefined;
  }

  /** Sends a signal and waits for the exit code, killing the daemon if it hangs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }

  /**
   * Stops the daemon if it runs, checks that it left nothing behind, and removes its
   * directory. Returns the leaks found (empty when clean); cleans them up either way.
   */
  async cleanup(opts: { keepDir?: boolean } = {}): Promise<string[]> {
    const containerd = await this.containerdPid();
    await this.stop();
    const leaks: string[] = [];
    if (containerd && alive(containerd)) {
      leaks.push(`containerd ${containerd} still running`);
      try { process.kill(containerd, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const shim of await shimsOf(this.execRoot)) {
      const stat = await readFile(`/proc/${shim.pid}/stat`, 'utf8').catch(() => '');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '?';
      leaks.push(`containerd shim ${shim.pid} left (container ${shim.id}, started at tick ${start}, now ${await readFile('/proc/uptime', 'utf8')})`);
      const procs = await readFile(`/sys/fs/cgroup/pids/berth/${shim.id}/cgroup.procs`, 'utf8').catch(() => '');
      for (const p of procs.split('\n').filter(Boolean)) try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
      try { process.kill(shim.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(this.dir));
    for (const m of mounts) {
      leaks.push(`mount left: ${m}`);
      await run('umount', ['-l', m.split(' ')[4]!]);
    }
    if (await exists(this.socket)) leaks.push(`socket left: ${this.socket}`);
    // The bridge and its MASQUERADE rule outlive the daemon, as docker0 does; veths on it do not.
    const veths = (await run('ip', ['-o', 'link', 'show', 'master', this.bridge])).stdout.split('\n').filter(Boolean);
    for (const v of veths) {
      leaks.push(`veth left on ${this.bridge}: ${v}`);
      await run('ip', ['link', 'del', v.split(': ')[1]!.split('@')[0]!]);
    }
    const nat = (await run('iptables', ['-w', '-t', 'nat', '-S'])).stdout.split('\n').filter((l) => l.includes(`berth:${this.bridge}`));
    for (const rule of nat) await deleteRule('iptables', 'nat', rule);
    const other = (await run('iptables-save', [])).stdout.split('\n').filter((l) => l.includes(this.bridge) && !l.includes(`berth:${this.bridge}`));
    for (const rule of other) leaks.push(`iptables rule left: ${rule}`);
    await run('ip', ['link', 'del', this.bridge]);
    if (!opts.keepDir) await rm(this.dir, { recursive: true, force: true });
    return leaks;
  }
}

/** Deletes a rule as `iptables -S` printed it (`-A CHAIN …`, quoted words unquoted). */
export async function deleteRule(cmd: 'iptables' | 'ip6tables', table: string, rule: string): Promise<void> {
  await run(cmd, ['-w', '-t', table, ...rule.replace(/^-A /, '-D ').split(' ').map((a) => a.replace(/^"(.*)"$/, '$1'))]);
}

/** containerd shims started for a daemon's containerd (their -address lies under its exec root). */
export async function shimsOf(execRoot: string): Promise<Array<{ pid: number; id: string }>> {
  const out: Array<{ pid: number; id: string }> = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!cmd[0]?.endsWith('containerd-shim-runc-v2')) continue;
    // `... start` and `... delete` are containerd's short-lived calls of the shim binary.
    if (cmd.includes('start') || cmd.includes('delete')) continue;
    const address = cmd[cmd.indexOf('-address') + 1] ?? '';
    if (address.startsWith(`${execRoot}/`)) out.push({ pid: Number(name), id: cmd[cmd.indexOf('-id') + 1] ?? '' });
  }
  return out;
}

/** True while the process exists and is not a zombie waiting for its parent to reap it. */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * What `read` finds, once it finds nothing or `ms` have passed: for leak checks of clean-ups
 * that finish after the request (a container's task is deleted in containerd after its
 * removal is answered; shutdown waits for that, a check on a running daemon polls).
 */
export async function settled<T>(read: () => Promise<T[]>, ms = 5000): Promise<T[]> {
  const end = Date.now() + ms;
  for (;;) {
    const left = await read();
    if (!left.length || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The containerd tasks left in berthd's namespace, after up to 5 s to settle. */
export async function tasksLeft(d: TestDaemon): Promise<string> {
  const sock = join(d.execRoot, 'containerd', 'containerd.sock');
  const left = await settled(async () => (await run('ctr', ['-a', sock, '-n', 'berth', 'tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean));
  return left.join('\n');
}

export async function exists(path: string): Promise<boolean> {
  try { await access(path); return true; } catch { return false; }
}

export function rawRequest(socketPath: string, method: string, path: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; json: () => any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined
      : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const req = http.request({
      socketPath, method, path,
      headers: { ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(payload);
  });
}

/** Runs a program with a time limit, collecting its output. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}):
  Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, {
      env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}
