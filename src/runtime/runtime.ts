/**
 * The runtime is the one door to containerd. A "task" is a running container process tree
 * managed by a shim; everything above this interface speaks of containers and processes, and
 * nothing above it imports gRPC. The containers issue widens this interface with create,
 * start, signal, exec, resize, wait, delete, restore and stats.
 */
export interface RuntimeVersion {
  /** containerd's version and git revision, as containerd reports them. */
  containerd: { version: string; revision: string };
}

export interface Runtime {
  version(): Promise<RuntimeVersion>;
  /** Resolves when containerd answers; used at start-up and after a restart of containerd. */
  ready(timeoutMs: number): Promise<void>;
  close(): void;
}
