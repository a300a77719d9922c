import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../../lib/log.js';
import { ensureDir, writeFileAtomic } from '../../lib/atomic.js';
import { pidAlive } from '../../lib/process.js';

export interface SupervisorOptions {
  log: Log;
  /** containerd's persistent root: under Berth's data root. */
  root: string;
  /** containerd's state, config, socket and pid file: under Berth's exec root. */
  stateDir: string;
  debug: boolean;
  binary?: string;
}

/**
 * Runs berthd's own containerd: writes its config under the exec root, starts it in its own
 * process group (a Ctrl-C to berthd's terminal must not reach it), restarts it when it dies,
 * and stops it at shutdown. A containerd left running by an earlier berthd (live-restore, or
 * a crash of berthd) is adopted rather than started twice.
 */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  #child?: ChildProcess;
  #pid = 0;
  #stopping = false;
  #restarts = 0;
  #watch?: NodeJS.Timeout;
  /** Called after containerd was restarted, so the runtime can reconnect and resubscribe. */
  onRestart: () => void = () => {};

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
  }

  get socket(): string { return join(this.#opts.stateDir, 'containerd.sock'); }
  get pid(): number { return this.#pid; }
  get restarts(): number { return this.#restarts; }
  get #pidFile(): string { return join(this.#opts.stateDir, 'containerd.pid'); }
  get #configFile(): string { return join(this.#opts.stateDir, 'containerd.toml'); }

  async start(): Promise<void> {
    await Promise.all([ensureDir(this.#opts.stateDir, 0o700), ensureDir(this.#opts.root, 0o711)]);
    const old = await this.#adoptable();
    if (old) {
      this.#pid = old;
      this.#opts.log.info({ pid: old }, 'containerd is still running');
      this.#watchAdopted();
      return;
    }
    await this.#spawn();
  }

  #config(): string {
    const q = JSON.stringify;
    // Berth hands containerd a prepared rootfs; CRI, image-pull and exotic snapshotter plugins
    // only cost start-up time and memory.
    const disabled = [
      'io.containerd.grpc.v1.cri', 'io.containerd.snapshotter.v1.aufs', 'io.containerd.snapshotter.v1.btrfs',
      'io.containerd.snapshotter.v1.zfs', 'io.containerd.snapshotter.v1.devmapper',
      'io.containerd.tracing.processor.v1.otlp', 'io.containerd.internal.v1.tracing',
    ];
    return [
      'version = 2',
      `root = ${q(this.#opts.root)}`,
      `state = ${q(join(this.#opts.stateDir, 'daemon'))}`,
      `disabled_plugins = ${q(disabled)}`,
      'oom_score = -999',
      '[grpc]',
      `  address = ${q(this.socket)}`,
      '[ttrpc]',
      `  address = ${q(join(this.#opts.stateDir, 'containerd.sock.ttrpc'))}`,
      '[debug]',
      `  level = ${q(this.#opts.debug ? 'debug' : 'warn')}`,
      '[plugins]',
      '  [plugins."io.containerd.monitor.v1.cgroups"]',
      '    no_prometheus = true',
      '',
    ].join('\n');
  }

  async #adoptable(): Promise<number | undefined> {
    const text = await readFile(this.#pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!pid || !pidAlive(pid)) return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.includes('containerd') && cmdline.includes(this.#configFile) ? pid : undefined;
  }

  async #spawn(): Promise<void> {
    // Written on every spawn: a restart must not depend on a file someone may have removed.
    await ensureDir(this.#opts.stateDir, 0o700);
    await writeFileAtomic(this.#configFile, this.#config());
    await rm(this.socket, { force: true });
    const logFd = openSync(join(this.#opts.stateDir, 'containerd.log'), 'a', 0o600);
    try {
      const child = spawn(this.#opts.binary ?? 'containerd', ['--config', this.#configFile], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
      });
      this.#child = child;
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      this.#pid = child.pid!;
      await writeFileAtomic(this.#pidFile, `${this.#pid}`);
      this.#opts.log.info({ pid: this.#pid }, 'started new containerd process');
      child.once('exit', (code, signal) => { void this.#exited(code, signal); });
    } finally {
      closeSync(logFd);
    }
  }

  async #exited(code: number | null, signal: string | null): Promise<void> {
    this.#child = undefined;
    if (this.#stopping) return;
    this.#restarts++;
    this.#opts.log.error({ code, signal, restarts: this.#restarts }, 'containerd exited unexpectedly; restarting it');
    // Back off a little when it keeps dying, so a broken containerd does not spin.
    await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(this.#restarts, 6), 5000)));
    if (this.#stopping) return;
    try {
      await this.#spawn();
      this.onRestart();
    } catch (err) {
      this.#opts.log.error({ err }, 'failed to restart containerd');
    }
  }

  /** An adopted containerd is not our child: poll its pid to notice its death. */
  #watchAdopted(): void {
    this.#watch = setInterval(() => {
      if (this.#child || this.#stopping || pidAlive(this.#pid)) return;
      clearInterval(this.#watch);
      this.#watch = undefined;
      void this.#exited(null, 'unknown');
    }, 500);
    this.#watch.unref();
  }

  /** Stops containerd: SIGTERM, then SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    if (this.#watch) clearInterval(this.#watch);
    const pid = this.#pid;
    if (!pid || !pidAlive(pid)) return;
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone already */ }
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (pidAlive(pid)) {
      this.#opts.log.warn({ pid }, 'containerd did not stop in time; killing it');
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
      while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
    }
    await rm(this.#pidFile, { force: true });
  }

  /** Leaves containerd running (live-restore): only stop watching it. */
  detach(): void {
    this.#stopping = true;
    if (this.#watch) clearInterval(this.#watch);
    this.#child?.unref();
  }
}

/**
 * Resolves once something accepts connections on the unix socket: containerd serves its API
 * from that moment. Cheaper than a gRPC call, which would first need grpc-js and the protos.
 */
export async function waitServing(socket: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection(socket);
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`containerd is not serving on ${socket} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
