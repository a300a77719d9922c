import type { Readable } from 'node:stream';
import type { Container } from './container.js';
import type { NetworkingConfig, NetworkSettings } from '../types/container.js';
import type { OciMount } from './spec/types.js';

/**
 * The container service's needs from the spec builder, the log drivers, volumes and
 * networks, sized to the need; the daemon wires the real ones in.
 */
export interface SpecBuilder {
  /** `env`: variables the network adds (legacy links), under the container's own. */
  build(c: Container, rootfs: string, extra: { mounts: OciMount[]; netnsPath?: string; env?: string[] }): Promise<object>;
}

export interface LogSink {
  validate(driver: string, opts: Record<string, string>): void;
  /** Opens the container's log driver for a run. */
  open(c: Container): Promise<LogWriter>;
}

export interface LogWriter {
  logChunk(stream: 'stdout' | 'stderr', chunk: Buffer): Promise<void>;
  /** Flushes an unterminated last line of the stream. */
  endStream?(stream: 'stdout' | 'stderr'): Promise<void>;
  /** Resolves once everything handed to the writer so far is written (failed writes too). */
  settled?(): Promise<void>;
  close(): Promise<void>;
}

export interface LogItem {
  stream: 'stdout' | 'stderr';
  line: Buffer;
}

export interface LogSource {
  /** The container's log records, in batches (a block of the file at a time). */
  read(c: Container, opts: {
    follow: boolean; tail: number | 'all'; stdout: boolean; stderr: boolean; timestamps: boolean;
    since?: bigint; until?: bigint; signal?: AbortSignal; alive?: () => boolean;
  }): AsyncIterable<LogItem[]>;
}

/**
 * Volumes and mounts (volume/): decided at create, mounted at each start, unmounted when the
 * container stops, released at removal.
 */
export interface MountProvider {
  /**
   * Validates HostConfig.Binds / Mounts / Tmpfs / VolumesFrom against the image's volumes,
   * creates what must exist (named and anonymous volumes) and records c.MountPoints.
   * Throws InvalidParameter with dockerd's wording; returns warnings.
   */
  create(c: Container, imageVolumes: Record<string, object>): Promise<string[]>;
  /** Mounts what c.MountPoints needs (copy-up on first use) and returns it in OCI form. */
  setup(c: Container, rootfs: string): Promise<OciMount[]>;
  /** After the container's process has exited. */
  teardown(c: Container): Promise<void>;
  /** At removal: drops the container's references; `removeVolumes` also removes its anonymous volumes. */
  remove(c: Container, removeVolumes: boolean): Promise<void>;
  /** The `Mounts` list of inspect and ps. */
  view(c: Container): object[];
}

/**
 * Networks (network/): the container's endpoints decided at create, its namespace and
 * endpoints set up at start and torn down when it stops.
 */
export interface NetworkProvider {
  /** Validates NetworkMode and NetworkingConfig; records c.NetworkSettings. Returns warnings. */
  create(c: Container, networking: NetworkingConfig | undefined): Promise<string[]>;
  /**
   * Prepares the network namespace (none for `host`) and writes c.HostsPath, c.HostnamePath
   * and c.ResolvConfPath; returns the namespace for the spec.
   */
  setup(c: Container): Promise<{ netnsPath?: string; env?: string[] }>;
  /** Once the task is gone: endpoints released, namespace removed. */
  teardown(c: Container): Promise<void>;
  /** At removal. */
  remove(c: Container): Promise<void>;
  /** After a daemon restart, for a container whose task kept running (live-restore). */
  restore?(c: Container): Promise<void>;
  /** NetworkSettings for inspect (ps takes its Networks). */
  view(c: Container): NetworkSettings;
}

export type { Readable };
