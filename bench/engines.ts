import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { request } from './http.js';
import {
  comm, descendants, mountsUnder, ref, rssBytes, signal, sleep, waitGone, type ProcessRef,
} from './proc.js';

/** The repository root, seen from dist/bench/. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The places one daemon owns, all in its own temp directory: nothing here ever points at
 * /var/run/docker.sock, /var/lib/docker or /run/docker. The directory name is short because
 * containerd's sockets under the exec root must fit in a unix socket path (108 bytes).
 */
export interface Dirs {
  dir: string;
  socket: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  config: string;
  log: string;
  /** The bridge the daemon takes as its default (`-b`), made by the bench, with its own subnet. */
  bridge: string;
}

/** How to start one kind of engine; everything else about running it is shared. */
export interface EngineSpec {
  name: string;
  command(d: Dirs): { file: string; args: string[] };
}

/** Flags both engines understand, as dockerd spells them. */
function daemonFlags(d: Dirs): string[] {
  return [
    '--data-root', d.dataRoot, '--exec-root', d.execRoot, '-H', `unix://${d.socket}`,
    '--pidfile', d.pidfile, '--config-file', d.config, `--bridge=${d.bridge}`, '--iptables=false',
  ];
}

export function dockerdSpec(binary = 'dockerd'): EngineSpec {
  // Without --containerd, dockerd starts its own containerd under <exec-root>/containerd.
  return { name: 'dockerd', command: (d) => ({ file: binary, args: daemonFlags(d) }) };
}

export function berthdSpec(script = join(ROOT, 'bin', 'berthd')): EngineSpec {
  // berthd likewise supervises its own containerd, detached, under <exec-root>/containerd.
  return { name: 'berthd', command: (d) => ({ file: script, args: daemonFlags(d) }) };
}

export class EngineError extends Error {}

let bridges = 0;

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile('ip', args, (err, _out, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${stderr}`)) : resolve())));
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** One daemon under test: started, measured and stopped by pid, never by name. */
export class Engine {
  readonly name: string;
  readonly dirs: Dirs;
  readonly #spec: EngineSpec;
  #child: ChildProcess | undefined;
  #self: ProcessRef | undefined;
  #exit: Promise<void> | undefined;
  #exited = true;
  #disposed = false;
  #logOffset = 0;

  private constructor(spec: EngineSpec, dir: string, socketName: string, bridge: string) {
    this.name = spec.name;
    this.#spec = spec;
    this.dirs = {
      dir,
      socket: join(dir, socketName),
      dataRoot: join(dir, 'data'),
      execRoot: join(dir, 'exec'),
      pidfile: join(dir, `${spec.name}.pid`),
      config: join(dir, 'daemon.json'),
      log: join(dir, 'daemon.log'),
      bridge,
    };
  }

  static async create(spec: EngineSpec): Promise<Engine> {
    const dir = await mkdtemp('/tmp/bb-');
    // Each engine's default bridge: an existing one (`-b`, as both take it), on a subnet of its
    // own; with --iptables=false nothing on it reaches beyond the host.
    const n = ++bridges;
    const bridge = `bb-default${n}`;
    await ip(['link', 'del', bridge]).catch(() => {});
    await ip(['link', 'add', 'name', bridge, 'type', 'bridge']);
    await ip(['addr', 'add', `10.231.${20 + n}.1/24`, 'dev', bridge]);
    await ip(['link', 'set', bridge, 'up']);
    const e = new Engine(spec, dir, spec.name === 'dockerd' ? 'docker.sock' : `${spec.name}.sock`, bridge);
    await writeFile(e.dirs.config, '{}\n');
    await writeFile(e.dirs.log, '');
    return e;
  }

  get host(): string { return `unix://${this.dirs.socket}`; }
  get pid(): number | undefined { return this.#child?.pid; }
  get running(): boolean { return !this.#exited; }

  /**
   * Spawns the daemon and polls `GET /_ping` every 10 ms. Returns the milliseconds from
   * spawn to the first 200. A daemon that exits first, or is not ready within 60 s, is a
   * failure carrying the log of this start.
   */
  async start(timeoutMs = READY_TIMEOUT_MS): Promise<number> {
    if (this.#disposed) throw new EngineError(`${this.name}: already cleaned up`);
    if (this.running) throw new EngineError(`${this.name}: already running`);
    const { file, args } = this.#spec.command(this.dirs);
    this.#logOffset = (await readFile(this.dirs.log)).length;
    const fd = openSync(this.dirs.log, 'a');
    const t0 = performance.now();
    let child: ChildProcess;
    try {
      // Own process group: a ^C on the terminal reaches the bench, which stops the daemons
      // in order, rather than the daemons directly.
      child = spawn(file, args, { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    this.#exited = false;
    this.#exit = new Promise((resolve) => {
      child.once('exit', () => { this.#exited = true; resolve(); });
      child.once('error', (err) => {
        this.#exited = true;
        appendFileSync(this.dirs.log, `${err.message}\n`);
        resolve();
      });
    });
    const deadline = t0 + timeoutMs;
    while (performance.now() < deadline) {
      if (this.#exited) {
        throw new EngineError(`${this.name} exited (${describeExit(child)}) before it was ready:\n${await this.log()}`);
      }
      try {
        const r = await request(this.dirs.socket, 'GET', '/_ping', Math.max(1, deadline - performance.now()));
        if (r.status === 200) {
          const ms = performance.now() - t0;
          this.#self = await ref(child.pid!);
          return ms;
        }
      } catch { /* not listening yet */ }
      await sleep(10);
    }
    const log = await this.log();
    await this.stop();
    throw new EngineError(`${this.name} was not ready within ${timeoutMs / 1000} s:\n${log}`);
  }

  /** The daemon's output since its latest start, last `lines` lines. */
  async log(lines = 80): Promise<string> {
    const text = (await readFile(this.dirs.log).catch(() => Buffer.alloc(0))).subarray(this.#logOffset).toString();
    return text.split('\n').slice(-lines).join('\n');
  }

  /**
   * The daemon and every process it runs: its descendants, plus its containerd (found by
   * pid file, since berthd runs containerd detached) and that one's descendants.
   */
  async processes(): Promise<ProcessRef[]> {
    if (!this.#self) return [];
    const found = new Map<number, ProcessRef>([[this.#self.pid, this.#self]]);
    for (const p of await descendants(this.#self.pid)) found.set(p.pid, p);
    const helper = await this.#containerd();
    if (helper) {
      found.set(helper.pid, helper);
      for (const p of await descendants(helper.pid)) found.set(p.pid, p);
    }
    return [...found.values()];
  }

  /** RSS in bytes of the daemon and all its processes, by part ("daemon", then by command name). */
  async rss(): Promise<Record<string, number>> {
    const parts: Record<string, number> = {};
    for (const p of await this.processes()) {
      const key = p.pid === this.#self?.pid ? 'daemon' : await comm(p.pid);
      parts[key] = (parts[key] ?? 0) + (await rssBytes(p.pid));
    }
    return parts;
  }

  async #containerd(): Promise<ProcessRef | undefined> {
    const text = await readFile(join(this.dirs.execRoot, 'containerd', 'containerd.pid'), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return pid > 0 ? ref(pid) : undefined;
  }

  /**
   * SIGTERM to the daemon, then waits for it and for the processes it ran (its containerd)
   * to exit. What outlives the time limit is killed; returns warnings about it.
   */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<string[]> {
    const child = this.#child;
    if (!child || this.#exited) return [];
    const helpers = (await this.processes()).filter((p) => p.pid !== child.pid);
    const warnings: string[] = [];
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.#exit!.then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      warnings.push(`${this.name} did not exit within ${timeoutMs / 1000} s of SIGTERM; killed`);
      child.kill('SIGKILL');
      await this.#exit;
    }
    const left = await waitGone(helpers, timeoutMs);
    for (const p of left) {
      warnings.push(`${this.name}: ${await comm(p.pid)} (pid ${p.pid}) still running after the daemon exited; killed`);
      signal(p, 'SIGKILL');
    }
    await waitGone(left, 5_000);
    this.#self = undefined;
    return warnings;
  }

  /** Stops the daemon, unmounts what it left under its directory, and removes the directory. */
  async dispose(opts: { keep?: boolean } = {}): Promise<string[]> {
    if (this.#disposed) return [];
    this.#disposed = true;
    const warnings = await this.stop();
    for (const m of await mountsUnder(this.dirs.dir)) {
      warnings.push(`${this.name}: mount left at ${m}; unmounted`);
      await new Promise<void>((resolve) => execFile('umount', ['-l', m], () => resolve()));
    }
    const still = await mountsUnder(this.dirs.dir);
    if (still.length) warnings.push(`${this.name}: could not unmount ${still.join(', ')}; kept ${this.dirs.dir}`);
    else if (!opts.keep) await rm(this.dirs.dir, { recursive: true, force: true });
    await ip(['link', 'del', this.dirs.bridge]).catch((err: unknown) => warnings.push(`${this.name}: bridge ${this.dirs.bridge}: ${String(err)}`));
    return warnings;
  }

  /** Last resort when the bench itself is exiting abruptly: SIGKILL by pid, synchronously. */
  killNow(): void {
    if (this.#child && !this.#exited) {
      try { process.kill(this.#child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    try {
      const pid = Number(readFileSync(join(this.dirs.execRoot, 'containerd', 'containerd.pid'), 'utf8').trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch { /* no pid file or gone */ }
  }

  /** `Version` from GET /version, for the report. */
  async version(): Promise<string> {
    try {
      const r = await request(this.dirs.socket, 'GET', '/version');
      return (JSON.parse(r.body) as { Version?: string }).Version ?? '?';
    } catch {
      return '?';
    }
  }
}

function describeExit(child: ChildProcess): string {
  if (child.pid === undefined) return 'could not be spawned';
  if (child.exitCode !== null) return `code ${child.exitCode}`;
  if (child.signalCode !== null) return `signal ${child.signalCode}`;
  return 'could not be spawned';
}

