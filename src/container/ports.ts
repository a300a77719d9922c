import type { Readable } from 'node:stream';
import type { Container } from './container.js';

/**
 * The container service's needs from the spec builder and the log drivers, sized to the
 * need; the daemon wires the real ones in.
 */
export interface SpecBuilder {
  build(c: Container, rootfs: string): Promise<object>;
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
  close(): Promise<void>;
}

export interface LogItem {
  stream: 'stdout' | 'stderr';
  line: Buffer;
}

export interface LogSource {
  read(c: Container, opts: {
    follow: boolean; tail: number | 'all'; stdout: boolean; stderr: boolean; timestamps: boolean;
    since?: bigint; until?: bigint; signal?: AbortSignal; alive?: () => boolean;
  }): AsyncIterable<LogItem>;
}

export type { Readable };
