import { constants, openSync, closeSync } from 'node:fs';
import { mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { native, S_IFIFO } from '../lib/native.js';

/**
 * The FIFOs through which a shim carries a process's stdio. Our read ends are opened before
 * the task exists, with a placeholder writer of our own so that no read sees an early EOF;
 * once the shim holds the write ends, `release` closes the placeholders, and the streams end
 * when the shim closes its ends (the process is gone and its output copied).
 */
export interface FifoSet {
  dir: string;
  stdin?: string;
  stdout: string;
  stderr?: string;
  streams: { stdin?: Socket; stdout: Socket; stderr?: Socket };
  /** Call once the task was created: the shim now holds the other ends. */
  release(): void;
}

export async function openFifos(dir: string, opts: { stdin: boolean; stderr: boolean; prefix: string }): Promise<FifoSet> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (n: string) => join(dir, `${opts.prefix}-${n}`);
  const make = (p: string) => {
    try { native.mknod(p, S_IFIFO | 0o600, 0, 0); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; }
  };
  const placeholders: number[] = [];
  const reader = (p: string): Socket => {
    make(p);
    const fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    placeholders.push(openSync(p, constants.O_WRONLY | constants.O_NONBLOCK));
    return new Socket({ fd, readable: true, writable: false });
  };
  const stdout = reader(path('stdout'));
  const stderr = opts.stderr ? reader(path('stderr')) : undefined;
  let stdin: Socket | undefined;
  if (opts.stdin) {
    make(path('stdin'));
    // Read-write: opening never blocks, and closing it is the EOF the process sees.
    const fd = openSync(path('stdin'), constants.O_RDWR | constants.O_NONBLOCK);
    stdin = new Socket({ fd, readable: false, writable: true });
  }
  return {
    dir,
    stdout: path('stdout'),
    ...(opts.stderr ? { stderr: path('stderr') } : {}),
    ...(opts.stdin ? { stdin: path('stdin') } : {}),
    streams: { stdout, ...(stderr ? { stderr } : {}), ...(stdin ? { stdin } : {}) },
    release() {
      for (const fd of placeholders.splice(0)) closeSync(fd);
    },
  };
}

export async function removeFifos(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** An exec's FIFOs share the container's directory; only its own go. */
export async function removeExecFifos(set: { stdin?: string; stdout: string; stderr?: string }): Promise<void> {
  for (const p of [set.stdin, set.stdout, set.stderr]) {
    if (p) await unlink(p).catch(() => {});
  }
}
