import { NotImplemented } from '../lib/errors.js';
import type { LogMessage } from './split.js';

/** The none log driver: output is dropped and there is nothing to read. */
export class NoneLogger {
  async log(_msg: LogMessage): Promise<void> {}
  async logChunk(_stream: 'stdout' | 'stderr', _chunk: Buffer): Promise<void> {}
  async endStream(_stream: 'stdout' | 'stderr'): Promise<void> {}
  async close(): Promise<void> {}
}

/** dockerd's ErrReadLogsNotSupported for a driver that keeps nothing to read (501). */
export function assertReadable(driver: string): void {
  if (driver === 'none') throw new NotImplemented('configured logging driver does not support reading');
}
