import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import type { Log } from '../lib/log.js';
import { Conflict, InvalidParameter, NotFound, NotImplemented, NotModified, SystemError, errorMessage } from '../lib/errors.js';
import type { Runtime, ProcessIO, Exit } from '../runtime/runtime.js';
import type { ContainerConfig, CreateBody, HostConfig, MountPoint } from '../types/container.js';
import type { ImageConfig } from '../types/image.js';
import { frame } from '../api/stdcopy.js';
import { newState, type Container } from './container.js';
import type { ContainerStore } from './store.js';
import { generateName, VALID_NAME } from './names.js';
import { mergeConfig } from './merge.js';
import { signalNumber } from './signals.js';
import type { LogItem, LogSink, LogSource, LogWriter, MountProvider, NetworkProvider, SpecBuilder } from './ports.js';
import type { Filters } from '../api/filters.js';
import { inspectView, summaryView } from './view.js';
import { parseTimestamp } from '../events/index.js';
import type { OciProcess, OciSpec } from './spec/types.js';
import { resourcesOf } from './spec/index.js';
import type { ExecTarget } from './exec.js';
import { parseDetachKeys } from './detach.js';
import { pipeStdin } from './stdin.js';
import { RestartManager } from './restart.js';
import { checkCreateBody, checkHostConfig } from './body.js';
import { oomKills } from './oom.js';
import { top, type TopResult } from './top.js';
import { StatsSampler, emptyCpuStats } from '../stats/index.js';
import { archivePath, extractToPath, statPath, type ContainerPathStat } from './archive-path.js';
import { MountTree, NETWORK_FILES, clearStale, sortMounts, type ArchiveMount } from './archive-mounts.js';
import { HealthMonitor, probeCommand } from './health.js';

/** What the container service needs from images and layers. */
export interface ImageSource {
  resolve(name: string): { id: string; config: ImageConfig; topLayer?: string };
  /** The image an image was built or committed from, if known. */
  parentOf?(id: string): string | undefined;
}

export interface LayerSource {
  readonly driverName: string;
  createRW(id: string, parent: string | undefined): Promise<void>;
  mountRW(id: string): Promise<string>;
  unmountRW(id: string): Promise<void>;
  releaseRW(id: string): Promise<void>;
  /** The container's changes over its image as a tar with AUFS whiteouts. */
  diff(id: string): Readable;
  /** The container's changes as `docker diff` lists them. */
  changes(id: string): Promise<Array<{ Path: string; Kind: number }>>;
  /** The whole filesystem under `root` as a tar. */
  tarOf(root: string): Readable;
  /** Containers that have a read-write layer (to find those a crash left without a record). */
  rwContainers(): string[];
  /** Bytes of the container's own layer, and of its whole root filesystem. */
  sizes(id: string): Promise<{ rw: number; rootFs: number }>;
}

/** Makes an image of a container's changes (image/ does the image side). */
export interface Committer {
  commit(o: {
    parentId: string; diff: Readable; containerId: string; containerConfig: ContainerConfig; config?: ContainerConfig;
    changes: string[]; author: string; comment: string; repo: string; tag: string;
  }): Promise<string>;
}

export interface EventSink {
  log(type: string, action: string, actor: { ID: string; Attributes: Record<string, string> }): void;
}

export interface ContainerDeps {
  store: ContainerStore;
  images: ImageSource;
  layers: LayerSource;
  runtime: Runtime;
  events: EventSink;
  spec: SpecBuilder;
  logs: LogSink & LogSource;
  mounts: MountProvider;
  networks: NetworkProvider;
  log: Log;
  defaults: { runtime: string; logDriver: string; logOpts: Record<string, string>; initPath: string; detachKeys: string };
  /** Told when a container's process has exited (execs died with it). */
  onExit?: (id: string) => void;
  commit?: Committer;
  /** Checks a create or update's settings (dockerd's verifyContainerSettings); returns warnings. */
  validate?: (hostConfig: HostConfig, config: ContainerConfig | undefined, update: boolean) => string[];
  /** Runs a health probe in the container (an exec without a client). */
  probe?: (id: string, cmd: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  /** Told when a container is removed. */
  onRemove?: (id: string) => void;
  /**
   * Where `docker cp` mounts a container's root and mounts for one operation (under the exec
   * root; leftovers of a killed daemon are detached at its first copy).
   */
  archiveDir?: string;
}

/** An attached client: where output goes, and where its input comes from. */
interface Attacher {
  out: Writable;
  stdout: boolean;
  stderr: boolean;
  stdin?: Readable;
  /** Detach keys, with a TTY. */
  keys?: number[];
  detach?: () => void;
  done: () => void;
}

/** What only exists while a container runs (or is about to). */
interface Live {
  io?: ProcessIO;
  /** The running process's log writer: `logs` waits for what it was given before reading. */
  sink?: LogWriter;
  /** The spec's process and the mounted root of the current run, for execs. */
  process?: OciProcess;
  rootfs?: string;
  cgroupsPath?: string;
  attachers: Set<Attacher>;
  exited?: Promise<void>;
  /** `not-running` waiters resolve when the container stops for good, `next-exit` ones at any exit. */
  exitWaiters: Array<{ nextExit: boolean; resolve: (code: number) => void }>;
  restart?: RestartManager;
  health?: HealthMonitor;
  /** A start under way: stop and remove wait for it rather than race it. */
  starting?: Promise<void>;
  removedWaiters: Array<(code: number) => void>;
  stopping?: boolean;
  /** containerd confirmed the last run's task and container deleted: removal need not ask again. */
  taskDeleted?: boolean;
  /** containerd deleting the last run's task: a new run waits for it, nothing else does. */
  deleting?: Promise<void>;
}

const now = () => new Date().toISOString();

/** The HostConfig fields `docker update` may change. */
const UPDATABLE = [
  'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'NanoCpus',
  'Memory', 'MemoryReservation', 'MemorySwap', 'KernelMemory', 'BlkioWeight', 'PidsLimit',
] as const;

/**
 * Container lifecycle over the store, the layer store and the runtime: create, start, stop,
 * kill, wait, remove, attach, logs, inspect and list, with dockerd's state rules and errors.
 */
export class ContainerService {
  readonly #d: ContainerDeps;
  readonly #live = new Map<string, Live>();
  #shuttingDown = false;
  /** Clean-ups no request waits for (a task's deletion in containerd); shutdown waits for them. */
  readonly #background = new Set<Promise<unknown>>();

  constructor(deps: ContainerDeps) {
    this.#d = deps;
    void this.#archiveBase();
  }

  #liveOf(id: string): Live {
    let l = this.#live.get(id);
    if (!l) {
      l = { attachers: new Set(), exitWaiters: [], removedWaiters: [] };
      this.#live.set(id, l);
    }
    return l;
  }

  #event(c: Container, action: string, extra: Record<string, string> = {}): void {
    const img = c.Config.Image ?? c.Image;
    this.#d.events.log('container', action, {
      ID: c.ID, Attributes: { ...(c.Config.Labels ?? {}), image: img, name: c.Name.slice(1), ...extra },
    });
  }

  get(ref: string): Container { return this.#d.store.get(ref); }

  /** Writes the record of a container another subsystem changed (network connect/disconnect). */
  async save(c: Container): Promise<void> { await this.#d.store.save(c); }

  /** For /info: how many containers there are, by state. */
  counts(): { total: number; running: number; paused: number; stopped: number } {
    const all = this.#d.store.all();
    const paused = all.filter((c) => c.State.Paused).length;
    const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  /** Containers that use an image, for rmi. */
  usedBy(imageId: string): Array<{ id: string; running: boolean }> {
    return this.#d.store.all().filter((c) => c.Image === imageId).map((c) => ({ id: c.ID, running: c.State.Running }));
  }

  async create(body: CreateBody, name: string | undefined): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw new InvalidParameter('config cannot be empty in order to create a container');
    checkCreateBody(body);
    if (name !== undefined && name !== '' && !VALID_NAME.test(name)) {
      throw new InvalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (!body.Image) throw new InvalidParameter('No image was specified');
    const hostConfig: HostConfig = { ...(body.HostConfig ?? {}) };
    const { HostConfig: _hc, NetworkingConfig: _nc, ...requested } = body;
    // Checked before anything exists, as dockerd's verifyContainerSettings (it may drop
    // unsupported values from hostConfig, with a warning).
    const warnings: string[] = this.#d.validate?.(hostConfig, requested as ContainerConfig, false) ?? [];
    const mode = hostConfig.NetworkMode || 'default';
    const runtime = hostConfig.Runtime || this.#d.defaults.runtime;
    if (!['runc', 'crun'].includes(runtime)) throw new InvalidParameter(`Unknown runtime specified ${runtime}`);
    const image = this.#d.images.resolve(body.Image);
    const { HostConfig: _h, NetworkingConfig: _n, ...userConfig } = body;
    const config = mergeConfig(userConfig as ContainerConfig, image.config.config ?? {});
    const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    if (args.length === 0) throw new InvalidParameter('No command specified');
    this.#d.logs.validate(hostConfig.LogConfig?.Type || this.#d.defaults.logDriver, hostConfig.LogConfig?.Config ?? this.#d.defaults.logOpts);
    const id = randomBytes(32).toString('hex');
    let finalName = name ? (name.startsWith('/') ? name : `/${name}`) : '';
    if (finalName) this.#d.store.reserveName(finalName, id);
    else {
      for (let i = 0; ; i++) {
        const candidate = `/${generateName(i > 2 ? 1 : 0)}`;
        if (!this.#d.store.hasName(candidate)) { finalName = candidate; break; }
      }
      this.#d.store.reserveName(finalName, id);
    }
    const dir = this.#d.store.dir(id);
    const c: Container = {
      ID: id, Name: finalName, Created: now(), Path: args[0]!, Args: args.slice(1),
      Config: { ...config, Image: body.Image, Hostname: config.Hostname || id.slice(0, 12) },
      HostConfig: {
        ...hostConfig, NetworkMode: mode, Runtime: runtime,
        LogConfig: hostConfig.LogConfig?.Type ? hostConfig.LogConfig : { Type: this.#d.defaults.logDriver, Config: this.#d.defaults.logOpts },
        RestartPolicy: hostConfig.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 },
      },
      State: newState(), Image: image.id, Driver: this.#d.layers.driverName, RestartCount: 0,
      HostnamePath: join(dir, 'hostname'), HostsPath: join(dir, 'hosts'), ResolvConfPath: join(dir, 'resolv.conf'),
      LogPath: join(dir, `${id}-json.log`), HasBeenStartedBefore: false, HasBeenManuallyStopped: false,
    };
    let layer = false;
    try {
      const t0 = performance.now();
      warnings.push(...(await this.#d.networks.create(c, body.NetworkingConfig)));
      await this.#d.layers.createRW(id, image.topLayer);
      layer = true;
      const t1 = performance.now();
      warnings.push(...(await this.#d.mounts.create(c, image.config.config?.Volumes ?? {})));
      await this.#d.store.save(c);
      this.#d.log.debug({ container: id, layerMs: t1 - t0, saveMs: performance.now() - t1 }, 'created');
    } catch (err) {
      this.#d.store.releaseName(finalName);
      await this.#d.mounts.remove(c, true).catch(() => {});
      await this.#d.networks.remove(c).catch(() => {});
      if (layer) await this.#d.layers.releaseRW(id).catch(() => {});
      await this.#d.store.delete(c).catch(() => {});
      throw err;
    }
    this.#event(c, 'create');
    return { Id: id, Warnings: warnings };
  }

  async start(ref: string): Promise<void> {
    const c = this.get(ref);
    if (c.State.Paused) throw new Conflict('cannot start a paused container, try unpause instead');
    if (c.State.Running && !c.State.Restarting) throw new NotModified('container already started');
    if (c.State.Status === 'removing') throw new Conflict(`container is marked for removal and cannot be started`);
    if (c.State.Status === 'dead') throw new Conflict('cannot start a dead container');
    const live = this.#liveOf(c.ID);
    // A start by hand begins a new count and back-off, as dockerd's ResetRestartManager does.
    live.restart?.cancel();
    live.restart = undefined;
    c.RestartCount = 0;
    await this.#run(c, live);
  }

  #run(c: Container, live: Live): Promise<void> {
    const run = this.#runOnce(c, live);
    const settled = run.then(() => {}, () => {});
    live.starting = settled;
    void settled.then(() => { if (live.starting === settled) live.starting = undefined; });
    return run;
  }

  async #runOnce(c: Container, live: Live): Promise<void> {
    // The previous run's task must be gone from containerd before a task of the same ID.
    await live.deleting;
    const t0 = performance.now();
    const rootfs = await this.#d.layers.mountRW(c.ID);
    let created = false;
    try {
      const { netnsPath, env } = await this.#d.networks.setup(c);
      const mounts = await this.#d.mounts.setup(c, rootfs);
      const t1 = performance.now();
      const spec = await this.#d.spec.build(c, rootfs, { mounts, ...(netnsPath ? { netnsPath } : {}), ...(env?.length ? { env } : {}) }) as OciSpec;
      const t2 = performance.now();
      live.process = spec.process;
      live.rootfs = rootfs;
      live.cgroupsPath = spec.linux.cgroupsPath;
      live.taskDeleted = false;
      const { pid, io } = await this.#d.runtime.create(c.ID, {
        spec, runtimeBinary: c.HostConfig.Runtime || this.#d.defaults.runtime,
        terminal: !!c.Config.Tty, stdin: !!c.Config.OpenStdin,
      });
      created = true;
      const t3 = performance.now();
      await this.#watch(c, live, io);
      await this.#d.runtime.start(c.ID);
      const t4 = performance.now();
      this.#d.log.debug({ container: c.ID, prepareMs: t1 - t0, specMs: t2 - t1, createMs: t3 - t2, startMs: t4 - t3 }, 'started');
      Object.assign(c.State, { Status: 'running', Running: true, Restarting: false, Pid: pid, StartedAt: now(), ExitCode: 0, Error: '', OOMKilled: false });
      c.HasBeenStartedBefore = true;
      c.HasBeenManuallyStopped = false;
      this.#startHealth(c, live);
      await this.#d.store.save(c);
      this.#event(c, 'start');
    } catch (err) {
      const msg = errorMessage(err);
      if (created) await this.#d.runtime.delete(c.ID).catch(() => {});
      await this.#release(c);
      const code = /executable file not found|no such file or directory/.test(msg) ? 127 : /permission denied/.test(msg) ? 126 : 128;
      Object.assign(c.State, { Status: c.HasBeenStartedBefore ? 'exited' : 'created', Running: false, Restarting: false, ExitCode: code, Error: msg });
      await this.#d.store.save(c).catch(() => {});
      for (const a of live.attachers) a.done();
      live.attachers.clear();
      for (const w of live.exitWaiters.splice(0)) w.resolve(code);
      // As dockerd: an --rm container that cannot start is removed (`docker run` waits for it).
      if (c.HostConfig.AutoRemove) {
        await this.#remove(c, { force: true }).catch((e: unknown) => this.#d.log.error({ err: e, container: c.ID }, 'auto-remove failed'));
      }
      // dockerd reports a process that cannot be started as a bad request.
      if (code !== 128) throw new InvalidParameter(msg, { cause: err });
      throw err;
    }
  }

  /** Copies a task's output to its log and attachers, and handles its exit. */
  async #watch(c: Container, live: Live, io: ProcessIO): Promise<void> {
    live.io = io;
    const sink = await this.#d.logs.open(c);
    live.sink = sink;
    const copies = [this.#pump(c, live, io.stdout, 'stdout', sink), ...(io.stderr ? [this.#pump(c, live, io.stderr, 'stderr', sink)] : [])];
    for (const a of live.attachers) if (a.stdin && io.stdin) this.#feedStdin(c, a, io.stdin);
    const waiting = this.#d.runtime.wait(c.ID);
    live.exited = waiting.then(
      (exit) => this.#exited(c, live, exit, copies, sink),
      (err: unknown) => {
        this.#d.log.error({ err, container: c.ID }, 'waiting for the container failed');
        return this.#exited(c, live, { code: 255, at: new Date() }, copies, sink, errorMessage(err));
      },
    );
  }

  /**
   * restore(): brings every container back after a daemon start, as the seed does. Tasks
   * still alive are adopted with live-restore and killed without it; containers that stopped
   * meanwhile get their exit recorded; `--rm` ones are removed; restart policies apply.
   */
  async restore(opts: { liveRestore: boolean }): Promise<{ restarted: number; removed: number; adopted: number }> {
    const restart: Container[] = [];
    const removeIds: string[] = [];
    let adopted = 0;
    await this.removeOrphans();
    // A daemon killed between making a container's layer and writing its record leaves a
    // layer nothing will ever remove.
    for (const id of this.#d.layers.rwContainers()) {
      if (this.#d.store.find(id)) continue;
      this.#d.log.info({ container: id }, 'removing a read-write layer no container refers to');
      await this.#d.layers.releaseRW(id).catch((err: unknown) => this.#d.log.warn({ err, container: id }, 'removing the layer failed'));
    }

    await Promise.all(this.#d.store.all().map(async (c) => {
      try {
        if (c.Driver !== this.#d.layers.driverName) {
          this.#d.log.warn({ container: c.ID, driver: c.Driver }, 'container is of another storage driver: skipped');
          return;
        }
        const live = this.#liveOf(c.ID);
        if (c.State.Status === 'removing') {
          Object.assign(c.State, { Status: 'dead', Dead: true, Running: false, Paused: false, Restarting: false, Pid: 0 });
          await this.#d.store.save(c);
          return;
        }
        const task = await this.#d.runtime.state(c.ID).catch(() => undefined);
        const alive = task && ['running', 'paused', 'pausing'].includes(task.status);
        if (alive && opts.liveRestore) {
          await this.#adopt(c, live, task.status !== 'running');
          adopted++;
          return;
        }
        let exit = { code: c.State.ExitCode, at: new Date() };
        if (!task && await this.#d.runtime.reap(c.ID).catch(() => false)) {
          this.#d.log.warn({ container: c.ID }, 'removed what an interrupted start left behind');
        }
        if (task) {
          exit = await this.#d.runtime.forceDelete(c.ID, 10_000).catch((err: unknown) => {
            this.#d.log.warn({ err, container: c.ID }, 'runtime delete failed');
            return undefined;
          }) ?? exit;
        }
        if (c.State.Running || c.State.Paused || c.State.Restarting) {
          await this.#release(c);
          Object.assign(c.State, {
            Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0,
            ExitCode: task ? exit.code : 255, FinishedAt: exit.at.toISOString(),
          });
          delete c.State.Health;
          await this.#d.store.save(c);
        }
        const manager = new RestartManager(c.HostConfig.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 });
        const ran = Date.parse(c.State.FinishedAt) - Date.parse(c.State.StartedAt);
        if (c.HasBeenStartedBefore && manager.shouldRestart(c.State.ExitCode, c.HasBeenManuallyStopped, ran, c.RestartCount).restart) {
          restart.push(c);
        } else if (c.HostConfig.AutoRemove) {
          removeIds.push(c.ID);
        }
      } catch (err) {
        this.#d.log.error({ err, container: c.ID }, 'restoring the container failed');
      }
    }));
    for (const id of removeIds) {
      await this.remove(id, { force: true }).catch((err: unknown) => this.#d.log.error({ err, container: id }, 'removing an --rm container failed'));
    }
    await Promise.all(restart.map((c) => this.start(c.ID).catch((err: unknown) => {
      this.#d.log.error({ err, container: c.ID }, 'restarting the container failed');
    })));
    return { restarted: restart.length, removed: removeIds.length, adopted };
  }

  /**
   * Removes containerd containers and FIFOs of containers that have no record (a daemon
   * killed between the two); safe to run while the daemon serves, as a record is written
   * before its container reaches containerd.
   */
  async removeOrphans(): Promise<void> {
    const orphans = await this.#d.runtime.removeOrphans((id) => this.#d.store.find(id) !== undefined)
      .catch((err: unknown) => { this.#d.log.warn({ err }, 'removing orphaned tasks failed'); return []; });
    if (orphans.length) this.#d.log.info({ containers: orphans }, 'removed containerd containers no container record refers to');
  }

  /** Takes a task that outlived the daemon back: its root, its streams, its exit. */
  async #adopt(c: Container, live: Live, paused: boolean): Promise<void> {
    const rootfs = await this.#d.layers.mountRW(c.ID);
    const spec = await this.#d.runtime.spec(c.ID) as OciSpec;
    live.process = spec.process;
    live.rootfs = rootfs;
    live.cgroupsPath = spec.linux?.cgroupsPath;
    await this.#d.networks.restore?.(c);
    const io = await this.#d.runtime.reattach(c.ID, { terminal: !!c.Config.Tty, stdin: !!c.Config.OpenStdin });
    await this.#watch(c, live, io);
    Object.assign(c.State, { Status: paused ? 'paused' : 'running', Running: true, Paused: paused, Restarting: false });
    this.#startHealth(c, live);
    await this.#d.store.save(c);
  }

  /**
   * How long the daemon's shutdown may take, in seconds, as dockerd's ShutdownTimeout
   * computes it: the configured value, or a container's stop timeout plus 5 s grace when
   * larger; -1 anywhere means no limit.
   */
  shutdownTimeout(configured: number): number {
    if (configured < 0) return -1;
    let timeout = configured;
    for (const c of this.#d.store.all()) {
      const stop = c.Config.StopTimeout ?? 10;
      if (stop < 0) return -1;
      timeout = Math.max(timeout, stop + 5);
    }
    return timeout;
  }

  /** The containers whose tasks must outlive the daemon (live-restore). */
  runningIds(): string[] {
    return this.#d.store.all().filter((c) => c.State.Running && !c.State.Restarting).map((c) => c.ID);
  }

  async #pump(c: Container, live: Live, src: Readable, stream: 'stdout' | 'stderr', sink: LogWriter): Promise<void> {
    for await (const chunk of src) {
      const buf = chunk as Buffer;
      const logged = sink.logChunk(stream, buf);
      for (const a of live.attachers) {
        if (!(stream === 'stdout' ? a.stdout : a.stderr)) continue;
        a.out.write(c.Config.Tty ? buf : frame(stream === 'stdout' ? 1 : 2, buf));
      }
      await logged;
    }
    await sink.endStream?.(stream);
  }

  #feedStdin(c: Container, a: Attacher, to: Writable): void {
    pipeStdin(a.stdin!, to, {
      // As dockerd: the detach sequence is looked for only with a TTY.
      ...(c.Config.Tty && a.keys ? { detachKeys: a.keys } : {}),
      onDetach: () => a.detach?.(),
      // As dockerd: a client's end of input closes the process's stdin only without a TTY;
      // with one, it only ends this attachment (a client that detached closes its side).
      endsStdin: !!c.Config.StdinOnce && !c.Config.Tty,
      // The shim keeps the FIFO open for later writers; CloseIO is what ends the process's stdin.
      closeStdin: () => void this.#d.runtime.closeStdin(c.ID).catch((err: unknown) => this.#d.log.debug({ err }, 'close stdin')),
    });
  }


  async #exited(c: Container, live: Live, exit: Exit, copies: Array<Promise<void>>, sink: { close(): Promise<void> }, error = ''): Promise<void> {
    // A process that exits at once can be seen gone before its start is recorded: the start
    // is recorded first, or it would mark running a container that has already exited.
    await live.starting;
    // The shim closes the FIFOs once the output is copied; do not wait forever for it.
    await Promise.race([Promise.allSettled(copies), new Promise((r) => setTimeout(r, 2000))]);
    await sink.close().catch(() => {});
    for (const a of live.attachers) a.done();
    live.attachers.clear();
    live.io = undefined;
    live.process = undefined;
    live.rootfs = undefined;
    this.#d.onExit?.(c.ID);
    // The cgroup goes with the task: read whether the OOM killer struck before deleting it.
    const oom = live.cgroupsPath ? (await oomKills(live.cgroupsPath)) > 0 : false;
    if (oom) this.#event(c, 'oom');
    // The task's exit leaves its root and namespace unused: they are released while containerd
    // deletes the task (the shim's runc delete needs neither). Nothing the client sees waits
    // for that deletion (20-40 ms of runc and shim), only the next run of this container; a
    // crash meanwhile leaves a containerd container that restore removes as an orphan.
    live.deleting = this.#inBackground(this.#d.runtime.delete(c.ID).then(
      () => { live.taskDeleted = true; },
      (err: unknown) => this.#d.log.warn({ err, container: c.ID }, 'runtime delete failed'),
    ));
    await this.#release(c);
    live.health?.stop();
    live.health = undefined;
    live.restart ??= new RestartManager(c.HostConfig.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 });
    const ranFor = exit.at.getTime() - Date.parse(c.State.StartedAt);
    const decision = live.restart.shouldRestart(exit.code, c.HasBeenManuallyStopped, ranFor, c.RestartCount);
    const restart = decision.restart && !this.#shuttingDown;
    const delayMs = decision.delayMs;
    const finished = { Running: false, Paused: false, Pid: 0, ExitCode: exit.code, FinishedAt: exit.at.toISOString(), Error: error, OOMKilled: oom };
    if (restart) {
      c.RestartCount++;
      // As dockerd's SetRestarting: still "running" to the API, with no process.
      Object.assign(c.State, { ...finished, Status: 'restarting', Running: true, Restarting: true });
    } else {
      Object.assign(c.State, { ...finished, Status: 'exited', Restarting: false });
    }
    await this.#d.store.save(c).catch((err: unknown) => this.#d.log.error({ err }, 'failed to save container state'));
    this.#event(c, 'die', { exitCode: String(exit.code) });
    if (live.stopping) this.#event(c, 'stop');
    live.stopping = false;
    for (const w of live.exitWaiters.splice(0)) {
      if (!restart || w.nextExit) w.resolve(exit.code);
      else live.exitWaiters.push(w);
    }
    if (restart) {
      void this.#restartAfter(c, live, live.restart, delayMs);
      return;
    }
    if (c.HostConfig.AutoRemove) {
      await this.remove(c.ID, { force: false }).catch((err: unknown) => this.#d.log.error({ err, container: c.ID }, 'auto-remove failed'));
    }
  }

  async #restartAfter(c: Container, live: Live, manager: RestartManager, delayMs: number): Promise<void> {
    const go = await manager.wait(delayMs);
    if (!this.#d.store.find(c.ID) || c.State.Status === 'removing') return;
    if (go && !manager.canceled) {
      try {
        await this.#run(c, live);
        return;
      } catch (err) {
        this.#d.log.warn({ err, container: c.ID }, 'restarting the container failed');
      }
    }
    Object.assign(c.State, { Status: 'exited', Running: false, Restarting: false });
    await this.#d.store.save(c).catch((err: unknown) => this.#d.log.error({ err }, 'failed to save container state'));
    for (const w of live.exitWaiters.splice(0)) w.resolve(c.State.ExitCode);
  }

  #inBackground<T>(p: Promise<T>): Promise<T> {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p)).catch(() => {});
    return p;
  }

  /** Whatever the record says, no task of a removed container stays in containerd. */
  async #reapTask(c: Container): Promise<void> {
    const exit = await this.#d.runtime.forceDelete(c.ID, 5000).catch((err: unknown) => {
      this.#d.log.warn({ err, container: c.ID }, 'runtime delete failed');
      return undefined;
    });
    if (exit) this.#d.log.warn({ container: c.ID }, 'removed a task the container record did not account for');
    else await this.#d.runtime.reap(c.ID).catch(() => false);
  }

  /** No restart after the exit to come (a stop or removal by hand). */
  #noRestart(c: Container, live: Live): void {
    live.restart ??= new RestartManager(c.HostConfig.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 });
    live.restart.cancel();
  }

  /** A restarting container has no process: stopping it only cancels the restart. */
  async #cancelRestart(c: Container, live: Live): Promise<void> {
    this.#noRestart(c, live);
    Object.assign(c.State, { Status: 'exited', Running: false, Restarting: false });
    await this.#d.store.save(c);
    for (const w of live.exitWaiters.splice(0)) w.resolve(c.State.ExitCode);
  }

  #startHealth(c: Container, live: Live): void {
    live.health?.stop();
    live.health = undefined;
    const cmd = probeCommand(c.Config.Healthcheck, c.Config.Shell);
    const probe = this.#d.probe;
    if (!cmd || !probe) {
      delete c.State.Health;
      return;
    }
    const monitor = new HealthMonitor(cmd, c.Config.Healthcheck!, (command, timeoutMs) => probe(c.ID, command, timeoutMs), (health, changed) => {
      if (changed) this.#event(c, `health_status: ${health.Status}`);
      void this.#d.store.save(c).catch(() => {});
    }, c.State.Health);
    c.State.Health = monitor.health;
    live.health = monitor;
    monitor.start();
  }

  /** What a run holds once its task is gone: network, mounts, the root filesystem. */
  async #release(c: Container): Promise<void> {
    const warn = (what: string) => (err: unknown) => this.#d.log.warn({ err, container: c.ID }, `releasing ${what} failed`);
    await this.#d.networks.teardown(c).catch(warn('network'));
    await this.#d.mounts.teardown(c).catch(warn('mounts'));
    await this.#d.layers.unmountRW(c.ID).catch(warn('rootfs'));
  }

  async stop(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.get(ref);
    await this.#live.get(c.ID)?.starting;
    if (!c.State.Running) throw new NotModified('container already stopped');
    const live = this.#liveOf(c.ID);
    // A stop by the daemon's shutdown is not a stop by hand: unless-stopped comes back.
    if (!this.#shuttingDown) c.HasBeenManuallyStopped = true;
    this.#noRestart(c, live);
    if (c.State.Restarting) {
      await this.#cancelRestart(c, live);
      return;
    }
    live.stopping = true;
    const sig = signalNumber(c.Config.StopSignal || 'SIGTERM');
    const timeout = timeoutSec ?? c.Config.StopTimeout ?? 10;
    await this.#signal(c, sig);
    const exited = live.exited ?? Promise.resolve();
    if (timeout >= 0) {
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeout * 1000))]);
      if (!done) await this.#signal(c, 9, true);
    }
    await exited;
  }

  async #signal(c: Container, sig: number, all = false): Promise<void> {
    await this.#d.runtime.kill(c.ID, sig, all).catch((err: unknown) => {
      // A task that has just exited (its shim going away) needs no signal, as dockerd sees it.
      if (err instanceof NotFound || /ttrpc: closed|process already finished|not running/.test(errorMessage(err))) return;
      throw err;
    });
    this.#event(c, 'kill', { signal: String(sig) });
    // A frozen process cannot act on a signal: thaw it, as dockerd does.
    if (c.State.Paused) {
      await this.#d.runtime.resume(c.ID).catch(() => {});
      Object.assign(c.State, { Paused: false, Status: 'running' });
      this.#event(c, 'unpause');
    }
  }

  async kill(ref: string, signal: string | undefined): Promise<void> {
    const c = this.get(ref);
    const sig = signalNumber(signal || 'SIGKILL');
    if (!c.State.Running) throw new Conflict(`Cannot kill container: ${ref}: Container ${c.ID} is not running`);
    if (c.State.Restarting) {
      // No process to signal; dockerd lets the restart go on unless this was a stop.
      this.#event(c, 'kill', { signal: String(sig) });
      return;
    }
    await this.#signal(c, sig, sig === 9);
    if (sig === 9) await this.#live.get(c.ID)?.exited;
  }

  /** Resolves with the exit code once the condition holds (not-running, next-exit, removed). */
  wait(ref: string, condition: string): { code: Promise<number> } {
    const c = this.get(ref);
    if (!['', 'not-running', 'next-exit', 'removed'].includes(condition)) {
      throw new InvalidParameter(`invalid condition: "${condition}"`);
    }
    const live = this.#liveOf(c.ID);
    if (condition === 'removed') return { code: new Promise((r) => live.removedWaiters.push(r)) };
    if ((condition === '' || condition === 'not-running') && !c.State.Running) return { code: Promise.resolve(c.State.ExitCode) };
    return { code: new Promise((r) => live.exitWaiters.push({ nextExit: condition === 'next-exit', resolve: r })) };
  }

  async remove(ref: string, opts: { force: boolean; volumes?: boolean }): Promise<void> {
    const c = this.get(ref);
    await this.#live.get(c.ID)?.starting;
    await this.#remove(c, opts);
  }

  async #remove(c: Container, opts: { force: boolean; volumes?: boolean }): Promise<void> {
    const pending = this.#live.get(c.ID);
    if (c.State.Restarting && opts.force && pending) await this.#cancelRestart(c, pending);
    if (c.State.Running) {
      if (!opts.force) {
        throw new Conflict(`You cannot remove a running container ${c.ID}. Stop the container before attempting removal or force remove`);
      }
      this.#noRestart(c, this.#liveOf(c.ID));
      await this.#signal(c, 9, true);
      await this.#live.get(c.ID)?.exited;
      if (!this.#d.store.find(c.ID)) return; // auto-removed meanwhile
    }
    if (c.State.Status === 'removing') return;
    c.State.Status = 'removing';
    if (pending?.deleting && !pending.taskDeleted) {
      // Under way since the exit: should it fail, the task is reaped after it.
      void this.#inBackground(pending.deleting.then(() => (pending.taskDeleted ? undefined : this.#reapTask(c))));
    } else if (!pending?.taskDeleted) {
      await this.#reapTask(c);
    }
    await this.#d.networks.remove(c).catch((err: unknown) => this.#d.log.warn({ err, container: c.ID }, 'network removal failed'));
    await this.#d.mounts.remove(c, !!opts.volumes || !!c.HostConfig.AutoRemove);
    await this.#d.layers.releaseRW(c.ID);
    await this.#d.store.delete(c);
    this.#event(c, 'destroy');
    const live = this.#live.get(c.ID);
    this.#live.delete(c.ID);
    this.#d.onRemove?.(c.ID);
    for (const w of live?.removedWaiters.splice(0) ?? []) w(c.State.ExitCode);
  }

  /** A running container for an exec, with dockerd's refusals. */
  execTarget(ref: string): ExecTarget {
    const c = this.get(ref);
    if (c.State.Paused) throw new Conflict(`Container ${c.ID} is paused, unpause the container before exec`);
    if (c.State.Restarting) throw new Conflict(`Container ${c.ID} is restarting, wait until the container is running`);
    const live = this.#live.get(c.ID);
    if (!c.State.Running || !live?.process || !live.rootfs) throw new Conflict(`Container ${c.ID} is not running`);
    return { container: c, process: live.process, rootfs: live.rootfs };
  }

  /** Stale copy mounts cleared (see #archiveBase). */
  #archiveReady?: Promise<void>;

  /**
   * Runs `fn` on what `docker cp` sees of the container, as dockerd's archive operations do
   * (daemon.Mount, then mountVolumes): the root filesystem (a running container's mount is
   * shared, reference counted) with the bind mounts and volumes over it, parents first, then
   * the network files /etc/resolv.conf, /etc/hostname and /etc/hosts that exist. They are
   * mounted on a private bind of the root for this operation alone (see archive-mounts.ts);
   * with nothing to mount, `fn` gets the root itself. `release` undoes it all; the caller calls
   * it when a stream it produced ends; on an error it is called here.
   */
  async #withRoot<T>(c: Container, fn: (root: string) => Promise<T>): Promise<{ value: T; release: () => void }> {
    const mounts = this.#archiveMounts(c);
    const rootfs = await this.#d.layers.mountRW(c.ID);
    let tree: MountTree | undefined;
    const mounted: ArchiveMount[] = [];
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void (async () => {
        await tree?.release();
        for (const m of mounted) {
          if (m.volume) this.#d.events.log('volume', 'unmount', { ID: m.volume.name, Attributes: { container: c.ID, driver: m.volume.driver } });
        }
        await this.#d.layers.unmountRW(c.ID);
      })().catch((err: unknown) => this.#d.log.warn({ err, container: c.ID }, 'undoing the mounts of a copy failed'));
    };
    try {
      if (mounts.length > 0) {
        await this.#archiveBase();
        tree = await MountTree.build(this.#archiveDir, rootfs, mounts, (m) => {
          mounted.push(m);
          if (!m.volume) return;
          this.#d.events.log('volume', 'mount', {
            ID: m.volume.name,
            Attributes: { container: c.ID, destination: m.destination, driver: m.volume.driver, propagation: m.volume.propagation, 'read/write': String(m.writable) },
          });
        });
      }
      return { value: await fn(tree?.root ?? rootfs), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  get #archiveDir(): string {
    return this.#d.archiveDir ?? join(tmpdir(), `berth-archive-${process.pid}`);
  }

  /**
   * Once per daemon, from its start (copies wait for it): what a killed daemon left mounted
   * for a copy goes.
   */
  #archiveBase(): Promise<void> {
    const dir = this.#d.archiveDir;
    this.#archiveReady ??= dir
      ? clearStale(dir).catch((err: unknown) => this.#d.log.warn({ err, dir }, 'detaching the mounts of an earlier daemon\'s copies failed'))
      : Promise.resolve();
    return this.#archiveReady;
  }

  /**
   * dockerd's setupMounts for an archive operation: binds and volumes that are not tmpfs
   * (those live in the container's namespace alone: a copy sees the directory under them),
   * parents first; then the network files, from the container's directory (or a user's mount
   * at that path), writable unless the root is read-only, skipped while they do not exist
   * (a container never started).
   */
  #archiveMounts(c: Container): ArchiveMount[] {
    const points = Object.values(c.MountPoints ?? {});
    const tmpfs = new Set([...Object.keys(c.HostConfig.Tmpfs ?? {}), ...points.filter((m) => m.Type === 'tmpfs').map((m) => m.Destination)]);
    const sources = new Map((this.#d.mounts.view(c) as Array<{ Destination?: string; Source?: string }>).map((v) => [v.Destination, v.Source]));
    const user: ArchiveMount[] = [];
    const network = new Map<string, ArchiveMount>();
    for (const mp of points) {
      if (tmpfs.has(mp.Destination) || (mp.Type !== 'bind' && mp.Type !== 'volume')) continue;
      const source = sources.get(mp.Destination) || mp.Source;
      if (!source) continue; // a plugin's volume that was never mounted has no path yet
      const m: ArchiveMount = {
        source, destination: mp.Destination, writable: mp.RW, recursive: !mp.Spec?.BindOptions?.NonRecursive,
        ...(mp.Type === 'bind' && !mp.SkipMountpointCreation ? { createSource: true } : {}),
        ...(mp.Type === 'volume' && mp.Name ? { volume: { name: mp.Name, driver: mp.Driver || 'local', propagation: mp.Propagation } } : {}),
      };
      if (NETWORK_FILES.includes(mp.Destination)) network.set(mp.Destination, m);
      else user.push(m);
    }
    const files: Record<string, string> = { '/etc/resolv.conf': c.ResolvConfPath, '/etc/hostname': c.HostnamePath, '/etc/hosts': c.HostsPath };
    const out = sortMounts(user);
    for (const dest of NETWORK_FILES) {
      const own = network.get(dest);
      if (own) out.push(own);
      else if (files[dest] && existsSync(files[dest]!)) out.push({ source: files[dest]!, destination: dest, writable: !c.HostConfig.ReadonlyRootfs, recursive: true });
    }
    return out;
  }

  /**
   * The bind or volume mount (tmpfs ones too) that holds a container path, the mount point
   * itself or below it (dockerd's HasResource); the deepest one wins.
   */
  #mountHolding(c: Container, path: string): MountPoint | undefined {
    let best: MountPoint | undefined;
    for (const m of Object.values(c.MountPoints ?? {})) {
      const rel = posix.relative(m.Destination, path);
      if (rel === '..' || rel.startsWith('../')) continue;
      if (!best || m.Destination.length > best.Destination.length) best = m;
    }
    return best;
  }

  /** HEAD /containers/{id}/archive. */
  async statPath(ref: string, path: string): Promise<ContainerPathStat> {
    const c = this.get(ref);
    const { value, release } = await this.#withRoot(c, (root) => statPath(root, path, ref));
    release();
    return value;
  }

  /** GET /containers/{id}/archive (`docker cp` out). */
  async archive(ref: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }> {
    const c = this.get(ref);
    const { value, release } = await this.#withRoot(c, (root) => archivePath(root, path, ref));
    for (const ev of ['end', 'close', 'error']) value.tar.once(ev, release);
    this.#event(c, 'archive-path');
    return value;
  }

  /**
   * PUT /containers/{id}/archive (`docker cp` in). As dockerd, the destination is checked once
   * resolved (symlinks followed): in a mount, that mount must be writable; elsewhere, the root
   * must be. A file mounted over (a bound file, /etc/hosts) cannot be replaced: EBUSY.
   */
  async extract(ref: string, path: string, input: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    const c = this.get(ref);
    const check = (resolved: string) => {
      const m = this.#mountHolding(c, resolved);
      // Plain errors in dockerd 20.10 (a 500, whatever the API reference says of 403).
      if (m && !m.RW) throw new SystemError('mounted volume is marked read-only');
      if (!m && c.HostConfig.ReadonlyRootfs) throw new SystemError('container rootfs is marked read-only');
    };
    const { release } = await this.#withRoot(c, (root) => extractToPath(root, path, input, { ...opts, check }, ref));
    release();
    this.#event(c, 'extract-to-dir');
  }

  /**
   * `docker stats`: JSON readings of the container's cgroup, one a second while it runs
   * (`stream`), or one reading (two a second apart unless `oneShot`, for precpu_stats).
   * A container that does not run gives one empty reading, as dockerd does.
   */
  stats(ref: string, opts: { stream: boolean; oneShot: boolean; signal: AbortSignal }): Readable {
    const c = this.get(ref);
    const live = this.#live.get(c.ID);
    const out = new PassThrough();
    const empty = () => ({
      read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {}, num_procs: 0, storage_stats: {},
      blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
        io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
      cpu_stats: emptyCpuStats(), precpu_stats: emptyCpuStats(), memory_stats: {}, name: c.Name, id: c.ID,
    });
    const write = (v: unknown) => out.write(JSON.stringify(v) + '\n');
    if (!c.State.Running || !live?.cgroupsPath) {
      write(empty());
      out.end();
      return out;
    }
    const sampler = new StatsSampler(live.cgroupsPath, { pid: () => c.State.Pid || undefined, name: c.Name, id: c.ID });
    void (async () => {
      try {
        if (!opts.stream) {
          write(await sampler.once(opts.oneShot, opts.signal));
        } else {
          for await (const s of sampler.stream(opts.signal)) {
            if (!c.State.Running) break;
            if (!write(s)) await new Promise((r) => out.once('drain', r));
          }
        }
      } catch (err) {
        // The cgroup went with the container.
        this.#d.log.debug({ err, container: c.ID }, 'stats ended');
      }
      out.end();
    })();
    return out;
  }

  /** `docker top`: ps, cut down to the container's processes. */
  async top(ref: string, psArgs: string): Promise<TopResult> {
    const c = this.get(ref);
    if (!c.State.Running) throw new Conflict(`Container ${c.ID} is not running`);
    if (c.State.Restarting) throw new Conflict(`Container ${c.ID} is restarting, wait until the container is running`);
    const pids = await this.#d.runtime.pids(c.ID);
    const result = await top(pids, psArgs);
    this.#event(c, 'top');
    return result;
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Running) throw new Conflict(`Container ${c.ID} is not running`);
    await this.#d.runtime.resize(c.ID, undefined, width, height);
    this.#event(c, 'resize', { height: String(height), width: String(width) });
  }

  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Running) throw new Conflict(`Container ${c.ID} is not running`);
    if (c.State.Paused) throw new Conflict(`Container ${c.ID} is already paused`);
    if (c.State.Restarting) throw new Conflict(`Container ${c.ID} is restarting, wait until the container is running`);
    await this.#d.runtime.pause(c.ID);
    Object.assign(c.State, { Paused: true, Status: 'paused' });
    await this.#d.store.save(c);
    this.#event(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Paused) throw new Conflict(`Container ${c.ID} is not paused`);
    await this.#d.runtime.resume(c.ID);
    Object.assign(c.State, { Paused: false, Status: 'running' });
    await this.#d.store.save(c);
    this.#event(c, 'unpause');
  }

  async restart(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.get(ref);
    if (c.State.Running) await this.stop(c.ID, timeoutSec);
    await this.start(c.ID);
    this.#event(c, 'restart');
  }

  /**
   * `docker update`: new resource limits (applied to the running task at once) and restart
   * policy, as dockerd's ContainerUpdate takes them.
   */
  async update(ref: string, body: HostConfig): Promise<{ Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw new InvalidParameter('update config cannot be empty');
    checkHostConfig(body);
    const c = this.get(ref);
    if (c.State.Status === 'removing' || c.State.Status === 'dead') {
      throw new Conflict(`Cannot update container ${c.ID}: container is marked for removal and cannot be "update"`);
    }
    const warnings = this.#d.validate?.(body, undefined, true) ?? [];
    const hc = c.HostConfig;
    const policy = body.RestartPolicy;
    if (policy?.Name && hc.AutoRemove) {
      throw new InvalidParameter('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    const memory = body.Memory ?? 0;
    if (memory !== 0 && !body.MemorySwap && (hc.MemorySwap ?? 0) > 0 && memory > hc.MemorySwap!) {
      throw new InvalidParameter('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    const next: HostConfig = { ...hc };
    for (const key of UPDATABLE) {
      const v = body[key];
      if (v !== undefined && v !== null && v !== 0 && v !== '') (next as Record<string, unknown>)[key] = v;
    }
    if (policy?.Name) next.RestartPolicy = { Name: policy.Name, MaximumRetryCount: policy.MaximumRetryCount ?? 0 };
    if (c.State.Running && !c.State.Restarting) {
      try {
        const { devices: _d, ...resources } = resourcesOf(next);
        await this.#d.runtime.update(c.ID, resources);
      } catch (err) {
        throw new InvalidParameter(`Cannot update container ${c.ID}: ${errorMessage(err)}`, { cause: err });
      }
    }
    c.HostConfig = next;
    const live = this.#live.get(c.ID);
    if (policy?.Name && live?.restart) live.restart = new RestartManager(next.RestartPolicy!);
    await this.#d.store.save(c);
    this.#event(c, 'update');
    return { Warnings: warnings };
  }

  /** `docker commit`: the container paused while its diff is read, unless asked not to. */
  async commit(ref: string, o: { repo: string; tag: string; author: string; comment: string; changes: string[]; pause: boolean; config?: ContainerConfig }): Promise<{ Id: string }> {
    const c = this.get(ref);
    if (!this.#d.commit) throw new NotImplemented('commit is not available');
    if (c.State.Status === 'removing' || c.State.Status === 'dead') {
      throw new Conflict(`You cannot commit container ${c.ID} which is being removed`);
    }
    const pause = o.pause && c.State.Running && !c.State.Paused && !c.State.Restarting;
    if (pause) await this.#d.runtime.pause(c.ID);
    try {
      const id = await this.#d.commit.commit({
        parentId: c.Image, diff: this.#d.layers.diff(c.ID), containerId: c.ID, containerConfig: c.Config,
        ...(o.config ? { config: o.config } : {}),
        changes: o.changes, author: o.author, comment: o.comment, repo: o.repo, tag: o.tag,
      });
      const familiar = o.repo.replace(/^docker\.io\/(library\/)?/, '');
      this.#event(c, 'commit', { comment: o.comment, imageID: id, imageRef: o.repo ? `${familiar}:${o.tag || 'latest'}` : '' });
      return { Id: id };
    } finally {
      if (pause) await this.#d.runtime.resume(c.ID).catch((err: unknown) => this.#d.log.error({ err, container: c.ID }, 'resuming after commit failed'));
    }
  }

  /** `docker export`: the container's whole filesystem, mounted for as long as the tar is read. */
  async export(ref: string): Promise<Readable> {
    const c = this.get(ref);
    if (c.State.Status === 'removing' || c.State.Status === 'dead') throw new Conflict(`You cannot export container ${c.ID} which is being removed`);
    const root = await this.#d.layers.mountRW(c.ID);
    const tar = this.#d.layers.tarOf(root);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void this.#d.layers.unmountRW(c.ID).catch(() => {});
    };
    tar.once('close', release);
    tar.once('end', release);
    tar.once('error', release);
    this.#event(c, 'export');
    return tar;
  }

  /** `docker diff`. */
  async changes(ref: string): Promise<Array<{ Path: string; Kind: number }>> {
    const c = this.get(ref);
    return this.#d.layers.changes(c.ID);
  }

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.get(ref);
    if (!newName) throw new InvalidParameter('Neither old nor new names may be empty');
    const bare = newName.replace(/^\//, '');
    if (!VALID_NAME.test(bare)) throw new InvalidParameter(`Invalid container name (${bare}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const name = `/${bare}`;
    const old = c.Name;
    if (name === old) throw new InvalidParameter('Renaming a container with the same name as its current name');
    this.#d.store.reserveName(name, c.ID);
    c.Name = name;
    try {
      await this.#d.store.save(c);
    } catch (err) {
      c.Name = old;
      this.#d.store.releaseName(name);
      throw err;
    }
    this.#d.store.releaseName(old);
    this.#event(c, 'rename', { oldName: old });
  }

  /**
   * Attaches a client's connection: output (stdcopy frames, or raw with a TTY) until the
   * container stops; input to the process when asked and the container keeps stdin open.
   */
  async attach(ref: string, conn: Duplex, opts: { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean; detachKeys?: string }): Promise<void> {
    const c = this.get(ref);
    const keys = parseDetachKeys(opts.detachKeys || this.#d.defaults.detachKeys);
    if (opts.logs) {
      for await (const batch of this.#d.logs.read(c, { follow: false, tail: 'all', stdout: opts.stdout, stderr: opts.stderr, timestamps: false })) {
        conn.write(Buffer.concat(batch.map((item) => (c.Config.Tty ? item.line : frame(item.stream === 'stdout' ? 1 : 2, item.line)))));
      }
    }
    const live = this.#liveOf(c.ID);
    const running = c.State.Running;
    if (!opts.stream || (!running && c.State.Status !== 'created')) {
      conn.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const a: Attacher = {
        out: conn, stdout: opts.stdout, stderr: opts.stderr,
        done: () => { conn.end(); resolve(); },
        ...(opts.stdin && c.Config.OpenStdin ? { stdin: conn, keys } : {}),
      };
      a.detach = () => {
        live.attachers.delete(a);
        this.#event(c, 'detach');
        a.done();
      };
      live.attachers.add(a);
      conn.on('close', () => { live.attachers.delete(a); resolve(); });
      conn.on('error', () => {});
      if (a.stdin && live.io?.stdin) this.#feedStdin(c, a, live.io.stdin);
      this.#event(c, 'attach');
    });
  }

  /** The log stream of `docker logs`. */
  logs(ref: string, opts: { follow: boolean; tail: number | 'all'; stdout: boolean; stderr: boolean; timestamps: boolean; since?: bigint; until?: bigint; signal: AbortSignal }): { tty: boolean; stream: Readable } {
    const c = this.get(ref);
    const out = new PassThrough();
    // One write per line would be a write per ~80 bytes: lines are gathered into ~64 KB
    // writes, and whatever is gathered goes out as soon as the reader waits (follow).
    // Without a TTY each line becomes a stdcopy frame, written straight into the batch's buffer.
    const header = c.Config.Tty ? 0 : 8;
    let batch: LogItem[] = [];
    let size = 0;
    let timer: NodeJS.Immediate | undefined;
    const flush = () => {
      if (timer) clearImmediate(timer);
      timer = undefined;
      if (size === 0) return true;
      const buf = Buffer.allocUnsafe(size);
      let at = 0;
      for (const item of batch) {
        if (header) {
          buf.writeUInt32BE(item.stream === 'stdout' ? 0x0100_0000 : 0x0200_0000, at);
          buf.writeUInt32BE(item.line.length, at + 4);
          at += header;
        }
        at += item.line.copy(buf, at);
      }
      const ok = out.write(buf);
      batch = [];
      size = 0;
      return ok;
    };
    // What the container wrote before this request and the daemon has read is in the answer:
    // the log writes still queued (behind a busy disk or thread pool) land first.
    const pending = this.#live.get(c.ID)?.sink?.settled?.();
    void (async () => {
      try {
        await pending;
        for await (const items of this.#d.logs.read(c, { ...opts, alive: () => this.#d.store.find(c.ID)?.State.Running ?? false })) {
          for (const item of items) {
            batch.push(item);
            size += header + item.line.length;
          }
          if (size < 64 * 1024) {
            timer ??= setImmediate(flush);
            continue;
          }
          if (!flush()) await new Promise((r) => out.once('drain', r));
        }
        flush();
        out.end();
      } catch (err) {
        out.destroy(err as Error);
      }
    })();
    return { tty: !!c.Config.Tty, stream: out };
  }

  async list(opts: { all: boolean; limit: number; size?: boolean; filters: Filters }): Promise<Array<ReturnType<typeof summaryView> & { SizeRw?: number; SizeRootFs?: number }>> {
    const f = opts.filters;
    f.validate(['id', 'name', 'label', 'status', 'ancestor', 'before', 'since', 'exited', 'health', 'network', 'volume', 'publish', 'expose', 'isolation', 'is-task']);
    for (const v of f.get('status')) {
      if (!['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'].includes(v)) throw new InvalidParameter(`invalid filter 'status=${v}'`);
    }
    for (const v of f.get('exited')) {
      if (!/^-?\d+$/.test(v)) throw new InvalidParameter(`strconv.Atoi: parsing "${v}": invalid syntax`);
    }
    for (const v of f.get('health')) {
      if (!['starting', 'healthy', 'unhealthy', 'none'].includes(v)) throw new InvalidParameter(`Unrecognised filter value for health: ${v}`);
    }
    const before = f.has('before') ? this.get(f.get('before')[0]!) : undefined;
    const since = f.has('since') ? this.get(f.get('since')[0]!) : undefined;
    let list = this.#d.store.all().sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    list = list.filter((c) => {
      if (!opts.all && !c.State.Running && !f.has('status') && !f.has('exited') && opts.limit <= 0 && !before && !since) return false;
      if (f.has('id') && !f.get('id').some((p) => c.ID.startsWith(p))) return false;
      if (f.has('name') && !f.get('name').some((p) => safeRegex(p).test(c.Name.slice(1)))) return false;
      if (f.has('label') && !f.matchKVList('label', c.Config.Labels ?? {})) return false;
      if (f.has('status') && !f.get('status').includes(c.State.Status)) return false;
      if (f.has('exited') && (c.State.Running || c.State.Status === 'created' || !f.get('exited').includes(String(c.State.ExitCode)))) return false;
      if (f.has('ancestor') && !f.get('ancestor').some((a) => a === c.Config.Image || c.Image.startsWith(a.replace(/^sha256:/, 'sha256:')) || this.#imageIs(a, c.Image))) return false;
      if (f.has('health') && !f.get('health').includes(c.State.Health?.Status ?? 'none')) return false;
      if (f.has('network') && !f.get('network').some((n) => Object.entries(c.NetworkSettings?.Networks ?? {}).some(([name, e]) => name === n || (!!e.NetworkID && e.NetworkID.startsWith(n))))) return false;
      if (f.has('volume') && !f.get('volume').some((v) => Object.values(c.MountPoints ?? {}).some((m) => m.Name === v || m.Destination === v || m.Source === v))) return false;
      if (f.has('expose') && !f.get('expose').some((p) => portMatches(p, Object.keys(c.Config.ExposedPorts ?? {})))) return false;
      if (f.has('publish') && !f.get('publish').some((p) => portMatches(p, Object.keys(c.HostConfig.PortBindings ?? {})))) return false;
      if (before && Date.parse(c.Created) >= Date.parse(before.Created)) return false;
      if (since && Date.parse(c.Created) <= Date.parse(since.Created)) return false;
      return true;
    });
    if (opts.limit > 0) list = list.slice(0, opts.limit);
    const views = list.map((c) => summaryView(c, this.#d.mounts.view(c), this.#d.networks.view(c)));
    if (!opts.size) return views;
    return Promise.all(views.map(async (v) => {
      const s = await this.#d.layers.sizes(v.Id).catch(() => ({ rw: 0, rootFs: 0 }));
      return { ...v, SizeRw: s.rw, SizeRootFs: s.rootFs };
    }));
  }

  /** The ancestor filter: the image itself or any image built on it, as dockerd walks parents. */
  #imageIs(name: string, id: string): boolean {
    let ancestor: string;
    try { ancestor = this.#d.images.resolve(name).id; } catch { return false; }
    for (let cur: string | undefined = id, n = 0; cur && n < 1000; cur = this.#d.images.parentOf?.(cur), n++) {
      if (cur === ancestor) return true;
    }
    return false;
  }

  async inspect(ref: string, graph: (c: Container) => Promise<{ Name: string; Data: Record<string, string> | null }>, size = false) {
    const c = this.get(ref);
    const view = inspectView(c, await graph(c), this.#d.mounts.view(c), this.#d.networks.view(c));
    if (!size) return view;
    const s = await this.#d.layers.sizes(c.ID).catch(() => ({ rw: 0, rootFs: 0 }));
    return { ...view, SizeRw: s.rw, SizeRootFs: s.rootFs };
  }

  /** `docker container prune`: every container that is not running, within the filters. */
  async prune(filters: Filters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    filters.validate(['until', 'label', 'label!']);
    const until = filters.has('until') ? untilTime(filters.get('until')) : undefined;
    const doomed = this.#d.store.all().filter((c) =>
      !(c.State.Running || c.State.Paused || c.State.Restarting || c.State.Status === 'removing')
      && (until === undefined || Date.parse(c.Created) < until)
      && (!filters.has('label') || filters.matchKVList('label', c.Config.Labels ?? {}))
      && !(filters.has('label!') && filters.matchKVList('label!', c.Config.Labels ?? {})));
    const removed: Array<{ id: string; size: number } | undefined> = new Array(doomed.length);
    // Removal is mostly waiting on the filesystem: a few at a time, listed in store order.
    let next = 0;
    const worker = async () => {
      while (next < doomed.length) {
        const i = next++;
        const c = doomed[i]!;
        const size = await this.#d.layers.sizes(c.ID).then((s) => s.rw, () => 0);
        try {
          await this.remove(c.ID, { force: false });
          removed[i] = { id: c.ID, size };
        } catch (err) {
          this.#d.log.warn({ err, container: c.ID }, 'prune: removal failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, doomed.length) }, worker));
    const deleted = removed.flatMap((r) => (r ? [r.id] : []));
    const reclaimed = removed.reduce((n, r) => n + (r?.size ?? 0), 0);
    this.#d.events.log('container', 'prune', { ID: '', Attributes: { reclaimed: String(reclaimed) } });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** Stops what runs at daemon shutdown, in parallel, each within its stop timeout. */
  async shutdown(opts: { liveRestore?: boolean } = {}): Promise<void> {
    this.#shuttingDown = true;
    for (const l of this.#live.values()) {
      l.restart?.cancel();
      l.health?.stop();
    }
    if (!opts.liveRestore) await Promise.allSettled(this.#d.store.all().filter((c) => c.State.Running).map((c) => this.stop(c.ID)));
    while (this.#background.size) await Promise.allSettled([...this.#background]);
  }
}

/** A publish/expose filter value (`80`, `80/udp`, `8000-8080/tcp`) against port keys (`80/tcp`). */
function portMatches(filter: string, ports: string[]): boolean {
  const [range = '', proto = 'tcp'] = filter.split('/');
  const [lo, hi = lo] = range.split('-').map(Number);
  if (lo === undefined || !Number.isInteger(lo) || !Number.isInteger(hi)) throw new InvalidParameter(`invalid port specification: "${filter}"`);
  return ports.some((key) => {
    const [n, p = 'tcp'] = key.split('/');
    const port = Number(n);
    return p === proto && port >= lo && port <= hi!;
  });
}

/** An `until` filter: a timestamp or a duration before now, in ms since the epoch. */
function untilTime(values: string[]): number {
  if (values.length > 1) throw new InvalidParameter('more than one until filter specified');
  const ns = parseTimestamp(values[0]!, new Date());
  return Number(ns / 1_000_000n);
}

/** A `name` filter is a regular expression in dockerd; a malformed one matches literally. */
function safeRegex(p: string): RegExp {
  try { return new RegExp(p.replace(/^\//, '')); } catch { return new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')); }
}
