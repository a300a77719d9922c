import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alive, rawRequest, run } from './harness.js';

/**
 * The reference engine for the tests that compare with it (interop, build reference): Debian's
 * dockerd 20.10, started on its own directories under a test's temp directory, with no bridge
 * and no iptables, and its own containerd. `skipReason` says why such a test cannot run here.
 */
const dockerdPath = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));

export function skipReason(purpose: string): string | false {
  if (!dockerdPath) return `dockerd (Debian docker.io) is not installed; install it to ${purpose}`;
  if (existsSync('/run/containerd/containerd.sock')) return 'a system containerd runs at /run/containerd: dockerd would use it, not its own';
  return false;
}

export class ReferenceDockerd {
  readonly socket: string;
  readonly #dir: string;
  readonly #child: ChildProcess;

  private constructor(dir: string, child: ChildProcess) {
    this.#dir = dir;
    this.socket = join(dir, 'docker.sock');
    this.#child = child;
  }

  get host(): string { return `unix://${this.socket}`; }

  /** Starts dockerd in `dir` (which holds daemon.json) and waits for its /_ping. */
  static async start(dir: string): Promise<ReferenceDockerd> {
    const child = spawn(dockerdPath!, ['--data-root', join(dir, 'docker-data'), '--exec-root', join(dir, 'docker-exec'),
      '-H', `unix://${join(dir, 'docker.sock')}`, '--pidfile', join(dir, 'docker.pid'), '--config-file', join(dir, 'daemon.json'),
      '--bridge=none', '--iptables=false'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const d = new ReferenceDockerd(dir, child);
    let log = '';
    child.stderr!.on('data', (c: Buffer) => { log += c; });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await rawRequest(d.socket, 'GET', '/_ping').then((r) => r.status === 200, () => false);
      if (ok) return d;
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`dockerd did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Stops dockerd (SIGTERM) and waits for its containerd to go; returns what was left. Any
   * mount dockerd left under `dir` (it mounts its data root) is undone, so `dir` can go.
   */
  async stop(): Promise<string[]> {
    const leaks: string[] = [];
    if (this.#child.exitCode === null) {
      const containerd = Number((await readFile(join(this.#dir, 'docker-exec', 'containerd', 'containerd.pid'), 'utf8').catch(() => '')).trim());
      this.#child.kill('SIGTERM');
      await new Promise((r) => this.#child.once('exit', r));
      for (let i = 0; i < 100 && containerd && alive(containerd); i++) await new Promise((r) => setTimeout(r, 50));
      if (containerd && alive(containerd)) leaks.push(`dockerd's containerd ${containerd} still running`);
    }
    const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${this.#dir}/`)).sort().reverse();
    for (const m of mounts) await run('umount', [m]);
    return leaks;
  }
}
