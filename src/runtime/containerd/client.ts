import type { Client, GrpcObject, Metadata as MetadataT, ServiceError } from '@grpc/grpc-js';
import type { CreateOptions, ExecOptions, Exit, ProcessIO, Runtime, RuntimeVersion, TaskState } from '../runtime.js';
import { join } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { openFifos, removeFifos, removeExecFifos } from '../fifo.js';
import { NotFound, Unavailable } from '../../lib/errors.js';
import { fromGrpc } from './errors.js';
import { loadProtos } from './protos.js';

type Grpc = typeof import('@grpc/grpc-js');
type Unary = (req: unknown, md: MetadataT, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;

const TASKS = 'containerd.services.tasks.v1.Tasks';
const CONTAINERS = 'containerd.services.containers.v1.Containers';

/**
 * containerd.runc.v1.Options with binary_name (field 6) and root (field 7), encoded by hand:
 * two strings do not justify loading the shim's proto.
 */
function runcOptions(binary: string, root: string): { type_url: string; value: Buffer } {
  const field = (tag: number, s: string) => {
    const b = Buffer.from(s);
    const len: number[] = [];
    let n = b.length;
    do { len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n > 0);
    return Buffer.concat([Buffer.from([(tag << 3) | 2, ...len]), b]);
  };
  return { type_url: 'containerd.runc.v1.Options', value: Buffer.concat([field(6, binary), field(7, root)]) };
}

/** The containerd namespace every Berth object lives in. */
export const NAMESPACE = 'berth';

/**
 * The runtime over containerd's gRPC API on a unix socket. Services are created on first use
 * from the .proto files; calls carry the `berth` namespace and a deadline.
 */
export class ContainerdRuntime implements Runtime {
  readonly #address: string;
  #grpc?: Grpc;
  #protos?: GrpcObject;
  readonly #clients = new Map<string, Client>();
  /** Placeholder writers of execs created but not started, by `<id>/<execId>`. */
  readonly #pending = new Map<string, () => void>();

  readonly #stateDir: string;

  /** `stateDir` holds the FIFOs and runc's state (under the exec root). */
  constructor(socketPath: string, stateDir: string) {
    this.#address = `unix://${socketPath}`;
    this.#stateDir = stateDir;
  }

  #loading?: Promise<void>;

  /** Loads grpc-js and the protos; start-up calls it early so it overlaps containerd's boot. */
  preload(): Promise<void> {
    this.#loading ??= (async () => {
      const [grpc, protos] = await Promise.all([import('@grpc/grpc-js'), loadProtos(['version', 'tasks', 'containers'])]);
      this.#grpc = grpc;
      this.#protos = protos;
    })();
    return this.#loading;
  }

  async #load(): Promise<void> {
    await this.preload();
  }

  async #client(path: string): Promise<Client> {
    await this.#load();
    let client = this.#clients.get(path);
    if (!client) {
      let ctor: unknown = this.#protos;
      for (const part of path.split('.')) ctor = (ctor as Record<string, unknown>)[part];
      const Ctor = ctor as new (addr: string, creds: unknown, opts: object) => Client;
      client = new Ctor(this.#address, this.#grpc!.credentials.createInsecure(), {
        'grpc.max_receive_message_length': 16 * 1024 * 1024,
        // containerd restarts are local and quick: reconnect fast rather than after grpc's 1 s.
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
      this.#clients.set(path, client);
    }
    return client;
  }

  async #call<T>(service: string, method: string, req: unknown, timeoutMs = 10_000): Promise<T> {
    const client = await this.#client(service);
    const md = new this.#grpc!.Metadata();
    md.set('containerd-namespace', NAMESPACE);
    const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
    return new Promise<T>((resolve, reject) => {
      fn(req, md, { deadline: timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs }, (err, res) => {
        // A task that cannot be created or started reports containerd's own message, as
        // dockerd's translateContainerdStartErr does (users grep for "OCI runtime create failed").
        if (err) reject(fromGrpc(err, service === TASKS && (method === 'Create' || method === 'Start') ? '' : `containerd ${method}`));
        else resolve(res as T);
      });
    });
  }

  async version(): Promise<RuntimeVersion> {
    const res = await this.#call<{ version: string; revision: string }>(
      'containerd.services.version.v1.Version', 'Version', {},
    );
    return { containerd: { version: res.version, revision: res.revision } };
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        await this.#call('containerd.services.version.v1.Version', 'Version', {}, Math.min(1000, deadline - Date.now()));
        return;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw new Unavailable(`containerd did not answer within ${timeoutMs} ms: ${(last as Error)?.message ?? ''}`);
  }

  async create(id: string, opts: CreateOptions): Promise<{ pid: number; io: ProcessIO }> {
    const fifoDir = join(this.#stateDir, 'fifo', id);
    const fifos = await openFifos(fifoDir, { stdin: opts.stdin, stderr: !opts.terminal, prefix: 'init' });
    try {
      await this.#call(CONTAINERS, 'Create', {
        container: {
          id,
          labels: opts.labels ?? {},
          runtime: { name: 'io.containerd.runc.v2', options: runcOptions(opts.runtimeBinary, join(this.#stateDir, `runtime-${opts.runtimeBinary.split('/').pop()}`)) },
          spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from(JSON.stringify(opts.spec)) },
        },
      });
      const res = await this.#call<{ pid: number }>(TASKS, 'Create', {
        container_id: id, terminal: opts.terminal, stdin: fifos.stdin ?? '', stdout: fifos.stdout, stderr: fifos.stderr ?? '',
      }, 60_000).catch(async (err: unknown) => {
        await this.#call(CONTAINERS, 'Delete', { id }).catch(() => {});
        throw err;
      });
      fifos.release();
      const io: ProcessIO = { stdout: fifos.streams.stdout };
      if (fifos.streams.stderr) io.stderr = fifos.streams.stderr;
      if (fifos.streams.stdin) io.stdin = fifos.streams.stdin;
      return { pid: res.pid, io };
    } catch (err) {
      fifos.release();
      for (const s of Object.values(fifos.streams)) s?.destroy();
      await removeFifos(fifoDir);
      throw err;
    }
  }

  async start(id: string): Promise<number> {
    return (await this.#call<{ pid: number }>(TASKS, 'Start', { container_id: id }, 60_000)).pid;
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    await this.#call(TASKS, 'Kill', { container_id: id, signal, all });
  }

  async closeStdin(id: string): Promise<void> {
    await this.#call(TASKS, 'CloseIO', { container_id: id, stdin: true });
  }

  async wait(id: string): Promise<Exit> {
    const res = await this.#call<{ exit_status: number; exited_at?: { seconds: string; nanos: number } }>(TASKS, 'Wait', { container_id: id }, Infinity);
    const at = res.exited_at ? new Date(Number(res.exited_at.seconds) * 1000 + Math.floor(res.exited_at.nanos / 1e6)) : new Date();
    return { code: res.exit_status, at };
  }

  async delete(id: string): Promise<void> {
    await this.#call(TASKS, 'Delete', { container_id: id }).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
    await this.#call(CONTAINERS, 'Delete', { id }).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
    await removeFifos(join(this.#stateDir, 'fifo', id));
  }

  async exec(id: string, execId: string, opts: ExecOptions): Promise<ProcessIO> {
    const fifos = await openFifos(join(this.#stateDir, 'fifo', id), { stdin: opts.stdin, stderr: !opts.terminal, prefix: execId });
    try {
      await this.#call(TASKS, 'Exec', {
        container_id: id, exec_id: execId, terminal: opts.terminal,
        stdin: fifos.stdin ?? '', stdout: fifos.stdout, stderr: fifos.stderr ?? '',
        spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(opts.process)) },
      }, 60_000);
      // The shim opens an exec's FIFOs only at Start: until then our placeholder writers keep
      // the read ends from seeing an early end of file.
      this.#pending.set(`${id}/${execId}`, () => fifos.release());
      const io: ProcessIO = { stdout: fifos.streams.stdout };
      if (fifos.streams.stderr) io.stderr = fifos.streams.stderr;
      if (fifos.streams.stdin) io.stdin = fifos.streams.stdin;
      return io;
    } catch (err) {
      fifos.release();
      for (const st of Object.values(fifos.streams)) st?.destroy();
      await removeExecFifos(fifos);
      throw err;
    }
  }

  async startExec(id: string, execId: string): Promise<number> {
    const pid = (await this.#call<{ pid: number }>(TASKS, 'Start', { container_id: id, exec_id: execId }, 60_000)).pid;
    this.#releasePending(id, execId);
    return pid;
  }

  #releasePending(id: string, execId: string): void {
    const key = `${id}/${execId}`;
    this.#pending.get(key)?.();
    this.#pending.delete(key);
  }

  async waitExec(id: string, execId: string): Promise<Exit> {
    const res = await this.#call<{ exit_status: number; exited_at?: { seconds: string; nanos: number } }>(
      TASKS, 'Wait', { container_id: id, exec_id: execId }, Infinity);
    const at = res.exited_at ? new Date(Number(res.exited_at.seconds) * 1000 + Math.floor(res.exited_at.nanos / 1e6)) : new Date();
    return { code: res.exit_status, at };
  }

  async killExec(id: string, execId: string, signal: number): Promise<void> {
    await this.#call(TASKS, 'Kill', { container_id: id, exec_id: execId, signal });
  }

  async closeExecStdin(id: string, execId: string): Promise<void> {
    await this.#call(TASKS, 'CloseIO', { container_id: id, exec_id: execId, stdin: true });
  }

  async deleteExec(id: string, execId: string): Promise<void> {
    this.#releasePending(id, execId);
    await this.#call(TASKS, 'DeleteProcess', { container_id: id, exec_id: execId }).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
    const dir = join(this.#stateDir, 'fifo', id);
    await removeExecFifos({ stdout: join(dir, `${execId}-stdout`), stderr: join(dir, `${execId}-stderr`), stdin: join(dir, `${execId}-stdin`) });
  }

  async resize(id: string, execId: string | undefined, width: number, height: number): Promise<void> {
    await this.#call(TASKS, 'ResizePty', { container_id: id, exec_id: execId ?? '', width, height });
  }

  async pause(id: string): Promise<void> {
    await this.#call(TASKS, 'Pause', { container_id: id });
  }

  async resume(id: string): Promise<void> {
    await this.#call(TASKS, 'Resume', { container_id: id });
  }

  async update(id: string, resources: object): Promise<void> {
    await this.#call(TASKS, 'Update', {
      container_id: id,
      resources: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', value: Buffer.from(JSON.stringify(resources)) },
    });
  }

  async forceDelete(id: string, timeoutMs: number): Promise<Exit | undefined> {
    // No FIFO directory, nothing in containerd (see removeOrphans): a container that never ran
    // is removed without a round trip.
    if (!(await readdir(join(this.#stateDir, 'fifo', id)).then(() => true, () => false))) return undefined;
    const task = await this.state(id).catch(() => undefined);
    let exit: Exit | undefined;
    if (task?.status === 'stopped') {
      exit = { code: task.exitCode, at: task.exitedAt ?? new Date() };
    } else if (task?.status === 'unknown') {
      // Its shim is gone (killed mid-create with the daemon): a kill and a wait would each
      // run into their deadline. What is left of the shim goes, then the delete.
      await this.reap(id, true).catch(() => false);
      exit = { code: 137, at: new Date() };
    } else if (task) {
      if (task.status === 'paused' || task.status === 'pausing') await this.resume(id).catch(() => {});
      await this.kill(id, 9, true).catch(() => {});
      const code = await Promise.race([
        this.wait(id).then((e) => e.code, () => 137),
        new Promise<number>((r) => setTimeout(() => r(137), timeoutMs)),
      ]);
      exit = { code, at: new Date() };
    }
    await this.delete(id);
    return exit;
  }

  async removeOrphans(known: (id: string) => boolean): Promise<string[]> {
    // Every container reaches containerd after its FIFO directory is made, and leaves it
    // before that directory goes: with no unknown directory there is nothing to ask about
    // (and no reason to load gRPC before the daemon serves).
    const fifoRoot = join(this.#stateDir, 'fifo');
    const unknown = (await readdir(fifoRoot).catch(() => [] as string[])).filter((n) => !known(n));
    if (unknown.length === 0) return [];
    const res = await this.#call<{ containers: Array<{ id: string }> }>(CONTAINERS, 'List', {});
    const orphans = res.containers.map((c) => c.id).filter((id) => !known(id));
    for (const id of orphans) await this.forceDelete(id, 10_000).catch(() => undefined);
    for (const name of unknown) await removeFifos(join(fifoRoot, name));
    return orphans;
  }

  /** Shims serving this containerd, by pid, with their container IDs. */
  async #shims(): Promise<Array<{ pid: number; id: string }>> {
    const address = this.#address.replace(/^unix:\/\//, '');
    const out: Array<{ pid: number; id: string }> = [];
    for (const name of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(name)) continue;
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (!cmd[0]?.endsWith('containerd-shim-runc-v2') || cmd.includes('start') || cmd.includes('delete')) continue;
      if (cmd[cmd.indexOf('-address') + 1] !== address) continue;
      out.push({ pid: Number(name), id: cmd[cmd.indexOf('-id') + 1] ?? '' });
    }
    return out;
  }

  async reapShims(): Promise<string[]> {
    const reaped: string[] = [];
    // Only shims older than this daemon: a younger one may belong to a create under way.
    const started = async (pid: number | string) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? Infinity);
    };
    const self = await started(process.pid);
    for (const shim of await this.#shims()) {
      if ((await started(shim.pid)) >= self) continue;
      if (await this.state(shim.id).catch(() => ({}))) continue;
      await this.reap(shim.id, true);
      reaped.push(shim.id);
    }
    return reaped;
  }

  async reap(id: string, knownLeftover = false): Promise<boolean> {
    const fifoDir = join(this.#stateDir, 'fifo', id);
    const leftover = knownLeftover || await readdir(fifoDir).then(() => true, () => false);
    if (!leftover) return false;
    // A shim whose start containerd gave up on (the caller went away mid-create) keeps
    // running with nobody to stop it: find it by its -id and our socket.
    for (const shim of await this.#shims()) {
      if (shim.id === id) try { process.kill(shim.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    // runc's own record of the container: delete --force kills what runs and removes the cgroup.
    for (const entry of await readdir(this.#stateDir).catch(() => [] as string[])) {
      if (!entry.startsWith('runtime-')) continue;
      const binary = entry.slice('runtime-'.length);
      const root = join(this.#stateDir, entry, NAMESPACE);
      if (!(await readdir(join(root, id)).then(() => true, () => false))) continue;
      await new Promise<void>((resolve) => {
        execFile(binary, ['--root', root, 'delete', '--force', id], { timeout: 10_000 }, () => resolve());
      });
    }
    await removeFifos(fifoDir);
    return true;
  }

  async spec(id: string): Promise<object> {
    const res = await this.#call<{ container: { spec?: { value: Buffer } } }>(CONTAINERS, 'Get', { id });
    return JSON.parse(Buffer.from(res.container.spec?.value ?? '{}').toString()) as object;
  }

  async reattach(id: string, opts: { terminal: boolean; stdin: boolean }): Promise<ProcessIO> {
    // The shim still holds the write ends: the placeholders can go at once.
    const fifos = await openFifos(join(this.#stateDir, 'fifo', id), { stdin: opts.stdin, stderr: !opts.terminal, prefix: 'init' });
    fifos.release();
    const io: ProcessIO = { stdout: fifos.streams.stdout };
    if (fifos.streams.stderr) io.stderr = fifos.streams.stderr;
    if (fifos.streams.stdin) io.stdin = fifos.streams.stdin;
    return io;
  }

  async state(id: string): Promise<TaskState | undefined> {
    try {
      const res = await this.#call<{ process: { pid: number; status: string; exit_status: number; exited_at?: { seconds: string; nanos: number } } }>(
        TASKS, 'Get', { container_id: id });
      const p = res.process;
      const status = (p.status || 'UNKNOWN').toLowerCase() as TaskState['status'];
      const exitedAt = p.exited_at && Number(p.exited_at.seconds) > 0
        ? new Date(Number(p.exited_at.seconds) * 1000 + Math.floor(p.exited_at.nanos / 1e6)) : undefined;
      return { status, pid: p.pid, exitCode: p.exit_status, ...(exitedAt ? { exitedAt } : {}) };
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }

  async pids(id: string): Promise<number[]> {
    const res = await this.#call<{ processes: Array<{ pid: number }> }>(TASKS, 'ListPids', { container_id: id });
    return res.processes.map((p) => p.pid);
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
