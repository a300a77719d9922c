import { randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Log } from '../lib/log.js';
import { Conflict, InvalidParameter, NotFound, errorMessage } from '../lib/errors.js';
import type { Runtime, ProcessIO } from '../runtime/runtime.js';
import { frame } from '../api/stdcopy.js';
import type { Container } from './container.js';
import { parseDetachKeys } from './detach.js';
import { pipeStdin } from './stdin.js';
import { environmentOf, replaceOrAppendEnv, resolveUser } from './spec/index.js';
import { grantableCapabilities } from './spec/caps.js';
import type { OciProcess } from './spec/types.js';

/** The body of `POST /containers/{id}/exec`. */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** What an exec needs of its container: the running task, its spec's process and its root. */
export interface ExecTarget {
  container: Container;
  process: OciProcess;
  rootfs: string;
}

export interface ExecDeps {
  /** The container, which must be running (throws dockerd's 409s otherwise). */
  target(ref: string): ExecTarget;
  runtime: Runtime;
  event(c: Container, action: string, extra?: Record<string, string>): void;
  log: Log;
  defaultDetachKeys: string;
}

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  /** Set once, at start: an exec runs at most once. */
  started: boolean;
  exitCode: number | null;
  pid: number;
  canRemove: boolean;
  detachKeys: number[];
  /** While it runs. */
  io?: ProcessIO;
  exited?: Promise<number>;
}

/**
 * `docker exec`: records created against a running container, started once (attached over a
 * hijacked connection, or detached), inspected, resized; finished records are dropped by a
 * collector in two passes, as the seed's execCommandGC does.
 */
export class ExecService {
  readonly #d: ExecDeps;
  readonly #execs = new Map<string, ExecRecord>();
  #gc?: NodeJS.Timeout;

  constructor(deps: ExecDeps) {
    this.#d = deps;
  }

  /** Starts the collector: every `intervalMs`, records marked removable go, finished ones get marked. */
  startGc(intervalMs = 5 * 60_000): void {
    this.#gc = setInterval(() => this.collect(), intervalMs);
    this.#gc.unref();
  }

  stop(): void {
    if (this.#gc) clearInterval(this.#gc);
  }

  collect(): number {
    let cleaned = 0;
    for (const [id, e] of this.#execs) {
      if (e.canRemove) {
        this.#execs.delete(id);
        cleaned++;
      } else if (!e.running && e.started) {
        e.canRemove = true;
      }
    }
    return cleaned;
  }

  #get(id: string): ExecRecord {
    const e = this.#execs.get(id);
    if (!e) throw new NotFound(`No such exec instance: ${id}`);
    return e;
  }

  exists(id: string): void {
    this.#get(id);
  }

  /** IDs of the container's execs that have not finished, for inspect's ExecIDs. */
  idsOf(containerId: string): string[] | null {
    const ids = [...this.#execs.values()].filter((e) => e.containerId === containerId && !e.canRemove && (e.running || !e.started)).map((e) => e.id);
    return ids.length ? ids : null;
  }

  create(ref: string, config: ExecConfig): { Id: string } {
    if (!config || typeof config !== 'object') throw new InvalidParameter('exec config cannot be empty');
    if (!Array.isArray(config.Cmd) || config.Cmd.length === 0) throw new InvalidParameter('No exec command specified');
    const { container: c } = this.#d.target(ref);
    const keys = parseDetachKeys(config.DetachKeys || this.#d.defaultDetachKeys);
    const id = randomBytes(32).toString('hex');
    this.#execs.set(id, {
      id, containerId: c.ID, config, running: false, started: false, exitCode: null, pid: 0, canRemove: false, detachKeys: keys,
    });
    this.#d.event(c, `exec_create: ${config.Cmd.join(' ')}`, { execID: id });
    return { Id: id };
  }

  /**
   * Starts an exec. Attached: `attach()` hijacks the connection once the checks pass; the
   * promise resolves when the process has exited and its output is sent. Detached: resolves
   * once the process runs.
   */
  async start(id: string, opts: { detach: boolean; consoleSize?: [number, number] }, attach: () => Duplex): Promise<void> {
    const e = this.#get(id);
    if (e.running || e.started) throw new Conflict(`Error: Exec command ${id} is already running`);
    const t = this.#d.target(e.containerId);
    e.started = true;
    e.running = true;
    let io: ProcessIO;
    try {
      const process = await this.#process(t, e.config);
      io = await this.#d.runtime.exec(t.container.ID, id, { process, terminal: !!e.config.Tty, stdin: !!e.config.AttachStdin && !opts.detach });
    } catch (err) {
      e.running = false;
      e.exitCode = 126;
      throw err;
    }
    e.io = io;
    const conn = opts.detach ? undefined : attach();
    // The shim opens an exec's stdin only at start: closing ours before would drop what the
    // client sent (a FIFO's buffer goes with its last open end).
    let markStarted!: () => void;
    const started = new Promise<void>((r) => { markStarted = r; });
    const copies: Array<Promise<void>> = [];
    if (conn) {
      conn.on('error', () => {});
      const tty = !!e.config.Tty;
      if (e.config.AttachStdout) copies.push(copy(io.stdout, conn, tty ? undefined : 1).catch(() => {}));
      else io.stdout.resume();
      if (io.stderr) {
        if (e.config.AttachStderr) copies.push(copy(io.stderr, conn, 2).catch(() => {}));
        else io.stderr.resume();
      }
      if (io.stdin) this.#feed(e, t.container.ID, conn, io.stdin, tty, started);
    } else {
      io.stdout.resume();
      io.stderr?.resume();
    }
    const waiting = this.#d.runtime.waitExec(t.container.ID, id);
    try {
      e.pid = await this.#d.runtime.startExec(t.container.ID, id);
      markStarted();
    } catch (err) {
      markStarted();
      e.running = false;
      // dockerd records 126 for any exec that could not start.
      e.exitCode = 126;
      for (const s of [io.stdin, io.stdout, io.stderr]) s?.destroy();
      await this.#d.runtime.deleteExec(t.container.ID, id).catch(() => {});
      if (conn) {
        const msg = Buffer.from(`OCI runtime exec failed: ${errorMessage(err)}\r\n`);
        conn.end(e.config.Tty ? msg : frame(1, msg));
        return;
      }
      throw err;
    }
    this.#d.event(t.container, `exec_start: ${(e.config.Cmd ?? []).join(' ')}`, { execID: id });
    if (opts.consoleSize && e.config.Tty) {
      await this.resize(id, opts.consoleSize[0], opts.consoleSize[1]).catch(() => {});
    }
    e.exited = (async () => {
      const exit = await waiting.catch((err: unknown) => {
        this.#d.log.warn({ err, exec: id }, 'waiting for an exec failed');
        return { code: 126, at: new Date() };
      });
      // The shim closes the FIFOs once the output is copied; do not wait forever for it.
      await Promise.race([Promise.allSettled(copies), new Promise((r) => setTimeout(r, 2000))]);
      e.exitCode = exit.code;
      e.running = false;
      e.io = undefined;
      this.#d.event(t.container, 'exec_die', { execID: id, exitCode: String(exit.code) });
      // The client reads the exit code once its stream ends: end it first, tidy up after.
      conn?.end();
      await this.#d.runtime.deleteExec(t.container.ID, id).catch((err: unknown) => this.#d.log.debug({ err }, 'delete exec'));
      return exit.code;
    })();
    if (conn) await e.exited;
  }

  #feed(e: ExecRecord, containerId: string, from: Duplex, to: Writable, tty: boolean, started: Promise<void>): void {
    pipeStdin(from, to, {
      ...(tty ? { detachKeys: e.detachKeys } : {}),
      // The exec keeps running; only this client goes.
      onDetach: () => from.end(),
      endsStdin: true,
      ready: started,
      closeStdin: () => void this.#d.runtime.closeExecStdin(containerId, e.id).catch(() => {}),
    });
  }


  async #process(t: ExecTarget, config: ExecConfig): Promise<OciProcess> {
    const base = t.process;
    const user = config.User ? await resolveUser(t.rootfs, config.User) : undefined;
    const uid = user ? user.uid : base.user.uid;
    const caps = config.Privileged ? [...grantableCapabilities()] : base.capabilities?.bounding ?? [];
    const env = replaceOrAppendEnv(environmentOf({ ...t.container.Config, Tty: !!config.Tty }), config.Env ?? []);
    const p: OciProcess = {
      ...base,
      terminal: !!config.Tty,
      args: config.Cmd!,
      env,
      cwd: config.WorkingDir || base.cwd,
      user: user ? { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } : base.user,
      capabilities: uid === 0 ? { bounding: caps, effective: caps, permitted: caps } : { bounding: caps },
    };
    return p;
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const e = this.#get(id);
    if (!e.running) throw new Conflict(`Exec ${id} is not running`);
    await this.#d.runtime.resize(e.containerId, id, width, height);
  }

  inspect(id: string) {
    const e = this.#get(id);
    const cmd = e.config.Cmd ?? [];
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: !!e.config.Tty, entrypoint: cmd[0] ?? '', arguments: cmd.slice(1),
        privileged: !!e.config.Privileged, ...(e.config.User ? { user: e.config.User } : {}),
      },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdout: !!e.config.AttachStdout,
      CanRemove: e.canRemove,
      ContainerID: e.containerId,
      DetachKeys: Buffer.from(e.detachKeys).toString('latin1'),
      Pid: e.pid,
    };
  }

  /** The container stopped: its execs died with it. */
  containerExited(containerId: string): void {
    for (const e of this.#execs.values()) {
      if (e.containerId === containerId && !e.started) e.canRemove = true;
    }
  }

  /** The container is gone: so are its records. */
  containerRemoved(containerId: string): void {
    for (const [id, e] of this.#execs) if (e.containerId === containerId) this.#execs.delete(id);
  }

  /**
   * Runs a command to completion without a client (health checks): its output, cut at
   * `maxOutput` bytes, and its exit code; killed after `timeoutMs`.
   */
  async run(ref: string, cmd: string[], timeoutMs: number, maxOutput = 4096): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const { Id } = this.create(ref, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const e = this.#get(Id);
    const t = this.#d.target(e.containerId);
    e.started = true;
    e.running = true;
    try {
      const process = await this.#process(t, e.config);
      const io = await this.#d.runtime.exec(t.container.ID, Id, { process, terminal: false, stdin: false });
      const chunks: Buffer[] = [];
      let size = 0;
      const take = (s: Readable | undefined) => s && new Promise<void>((resolve) => {
        s.on('data', (d: Buffer) => { if (size < maxOutput) { chunks.push(d); size += d.length; } });
        s.on('end', resolve);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
      });
      const copies = [take(io.stdout), take(io.stderr)];
      const waiting = this.#d.runtime.waitExec(t.container.ID, Id);
      e.pid = await this.#d.runtime.startExec(t.container.ID, Id);
      this.#d.event(t.container, `exec_start: ${cmd.join(' ')}`, { execID: Id });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        void this.#d.runtime.killExec(t.container.ID, Id, 9).catch(() => {});
      }, timeoutMs);
      const exit = await waiting.finally(() => clearTimeout(timer));
      await Promise.race([Promise.allSettled(copies), new Promise((r) => setTimeout(r, 1000))]);
      e.exitCode = exit.code;
      this.#d.event(t.container, 'exec_die', { execID: Id, exitCode: String(exit.code) });
      return { exitCode: exit.code, output: Buffer.concat(chunks).subarray(0, maxOutput).toString(), timedOut };
    } finally {
      e.running = false;
      e.canRemove = true;
      await this.#d.runtime.deleteExec(t.container.ID, Id).catch(() => {});
      this.#execs.delete(Id);
    }
  }
}

/** Copies a process's output to the client: stdcopy frames, or raw with a TTY. */
async function copy(src: Readable, dst: Writable, stream: 1 | 2 | undefined): Promise<void> {
  for await (const chunk of src) {
    if (dst.destroyed) continue;
    const ok = dst.write(stream ? frame(stream, chunk as Buffer) : (chunk as Buffer));
    if (!ok) await new Promise((r) => { dst.once('drain', r); dst.once('close', r); });
  }
}
