import type { Duplex } from 'node:stream';
import type { ExecConfig } from '../../../container/exec.js';

/** What the exec routes need from the daemon. */
export interface ExecBackend {
  create(ref: string, config: ExecConfig): { Id: string };
  /** Throws NotFound before the connection is taken over. */
  exists(id: string): void;
  start(id: string, opts: { detach: boolean; consoleSize?: [number, number] }, attach: () => Duplex): Promise<void>;
  inspect(id: string): unknown;
  resize(id: string, height: number, width: number): Promise<void>;
}
