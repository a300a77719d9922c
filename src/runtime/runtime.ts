import type { Readable, Writable } from 'node:stream';

/**
 * The runtime is the one door to containerd. A "task" is a container's running process tree
 * managed by a shim; a "process" is the task's init process or an exec inside it. Everything
 * above this interface speaks of containers and processes; nothing above it imports gRPC.
 */
export interface RuntimeVersion {
  /** containerd's version and git revision, as containerd reports them. */
  containerd: { version: string; revision: string };
}

/** The stdio of a process, as streams on our side of the FIFOs. */
export interface ProcessIO {
  stdin?: Writable;
  stdout: Readable;
  /** Absent with a TTY: the terminal merges both streams into stdout. */
  stderr?: Readable;
}

export interface CreateOptions {
  /** The OCI runtime spec, as JSON. */
  spec: object;
  /** `runc`, `crun` or a runtime added with --add-runtime: the binary the shim runs. */
  runtimeBinary: string;
  terminal: boolean;
  stdin: boolean;
  labels?: Record<string, string>;
}

export interface TaskState {
  status: 'created' | 'running' | 'stopped' | 'paused' | 'pausing' | 'unknown';
  pid: number;
  exitCode: number;
  exitedAt?: Date;
}

export interface ExecOptions {
  /** The OCI process, as JSON. */
  process: object;
  terminal: boolean;
  stdin: boolean;
}

export interface Exit {
  code: number;
  at: Date;
}

export interface Runtime {
  version(): Promise<RuntimeVersion>;
  /** Resolves when containerd answers; used at start-up and after a restart of containerd. */
  ready(timeoutMs: number): Promise<void>;
  /** Creates the container and its task (not started); returns the init process's stdio. */
  create(id: string, opts: CreateOptions): Promise<{ pid: number; io: ProcessIO }>;
  start(id: string): Promise<number>;
  /** Signals the init process (or every process with `all`). */
  kill(id: string, signal: number, all?: boolean): Promise<void>;
  /** Tells the shim the process's stdin has ended (the shim holds the FIFO open until then). */
  closeStdin(id: string): Promise<void>;
  /** Resolves when the init process exits. */
  wait(id: string): Promise<Exit>;
  /** Removes the task and the container from containerd, and the FIFOs. */
  delete(id: string): Promise<void>;
  /** Adds a process to a running task (not started); returns its stdio. */
  exec(id: string, execId: string, opts: ExecOptions): Promise<ProcessIO>;
  startExec(id: string, execId: string): Promise<number>;
  waitExec(id: string, execId: string): Promise<Exit>;
  killExec(id: string, execId: string, signal: number): Promise<void>;
  /** Ends the exec's stdin (see closeStdin). */
  closeExecStdin(id: string, execId: string): Promise<void>;
  /** Forgets an exited exec and removes its FIFOs. */
  deleteExec(id: string, execId: string): Promise<void>;
  /** Resizes the terminal of the init process, or of an exec. */
  resize(id: string, execId: string | undefined, width: number, height: number): Promise<void>;
  /** Freezes and thaws every process of the task. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Applies new resource limits (OCI LinuxResources) to a running task. */
  update(id: string, resources: object): Promise<void>;
  /**
   * Removes a container from containerd whatever its task is doing: a task still running
   * (or paused, or created) is killed first, waiting at most `timeoutMs`. The exit it had or
   * was given; undefined when there was no task.
   */
  forceDelete(id: string, timeoutMs: number): Promise<Exit | undefined>;
  /**
   * Removes what a killed daemon may have left of containers it no longer knows: containerd
   * containers and tasks (killed first), FIFO directories. Returns the IDs removed.
   */
  removeOrphans(known: (id: string) => boolean): Promise<string[]>;
  /**
   * For a container containerd has no task of: removes what a create cut short may have
   * left (a shim containerd forgot, runc state, a cgroup, FIFOs). True if anything was found.
   */
  reap(id: string): Promise<boolean>;
  /** Runs `reap` for every shim of this containerd whose container has no task. */
  reapShims(): Promise<string[]>;
  /** The OCI spec the container was created with. */
  spec(id: string): Promise<object>;
  /** Opens the stdio of a task that outlived a daemon (live-restore) again. */
  reattach(id: string, opts: { terminal: boolean; stdin: boolean }): Promise<ProcessIO>;
  /** The task's state, or undefined when containerd has no task for the container. */
  state(id: string): Promise<TaskState | undefined>;
  /** Host PIDs of every process of the task. */
  pids(id: string): Promise<number[]>;
  close(): void;
}
