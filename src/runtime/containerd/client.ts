import type { Client, GrpcObject, Metadata as MetadataT, ServiceError } from '@grpc/grpc-js';
import type { Runtime, RuntimeVersion } from '../runtime.js';
import { Unavailable } from '../../lib/errors.js';
import { fromGrpc } from './errors.js';
import { loadProtos } from './protos.js';

type Grpc = typeof import('@grpc/grpc-js');
type Unary = (req: unknown, md: MetadataT, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;

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

  constructor(socketPath: string) {
    this.#address = `unix://${socketPath}`;
  }

  #loading?: Promise<void>;

  /** Loads grpc-js and the protos; start-up calls it early so it overlaps containerd's boot. */
  preload(): Promise<void> {
    this.#loading ??= (async () => {
      const [grpc, protos] = await Promise.all([import('@grpc/grpc-js'), loadProtos(['version'])]);
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
      fn(req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(fromGrpc(err, `containerd ${method}`));
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

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
