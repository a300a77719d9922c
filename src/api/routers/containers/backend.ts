import type { Duplex, Readable } from 'node:stream';
import type { Filters } from '../../filters.js';
import type { ContainerConfig, CreateBody, HostConfig } from '../../../types/container.js';
import type { ContainerPathStat } from '../../../container/archive-path.js';

/** What the container routes need from the daemon. */
export interface ContainersBackend {
  create(body: CreateBody, name: string | undefined): Promise<{ Id: string; Warnings: string[] }>;
  list(opts: { all: boolean; limit: number; size: boolean; filters: Filters }): Promise<unknown[]>;
  inspect(ref: string, size: boolean): Promise<unknown>;
  prune(filters: Filters): Promise<unknown>;
  start(ref: string): Promise<void>;
  stop(ref: string, timeout: number | undefined): Promise<void>;
  restart(ref: string, timeout: number | undefined): Promise<void>;
  kill(ref: string, signal: string | undefined): Promise<void>;
  /** Validates now; the promise resolves with the exit code when the condition holds. */
  wait(ref: string, condition: string): { code: Promise<number> };
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
  /** Checks the container exists before the connection is taken over. */
  exists(ref: string): void;
  attach(ref: string, conn: Duplex, opts: { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean; detachKeys?: string }): Promise<void>;
  resize(ref: string, height: number, width: number): Promise<void>;
  top(ref: string, psArgs: string): Promise<unknown>;
  stats(ref: string, opts: { stream: boolean; oneShot: boolean; signal: AbortSignal }): Readable;
  statPath(ref: string, path: string): Promise<ContainerPathStat>;
  archive(ref: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }>;
  extract(ref: string, path: string, input: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  update(ref: string, body: HostConfig): Promise<{ Warnings: string[] }>;
  commit(ref: string, o: { repo: string; tag: string; author: string; comment: string; changes: string[]; pause: boolean; config?: ContainerConfig }): Promise<{ Id: string }>;
  export(ref: string): Promise<Readable>;
  changes(ref: string): Promise<Array<{ Path: string; Kind: number }>>;
  logs(ref: string, opts: { follow: boolean; tail: number | 'all'; stdout: boolean; stderr: boolean; timestamps: boolean; since?: bigint; until?: bigint; signal: AbortSignal }): { tty: boolean; stream: Readable };
}
