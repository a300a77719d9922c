import type { Readable, Writable } from 'node:stream';
import { DetachScanner } from './detach.js';

/**
 * Copies a client's input to a process's stdin FIFO, as container attach and exec both do:
 * with `detachKeys` (a TTY) the detach sequence is looked for and ends the copy; the
 * client's end of input calls `onEnd` unless the caller refuses it, and `closeStdin` runs
 * once everything written before is flushed.
 */
export function pipeStdin(from: Readable, to: Writable, opts: {
  detachKeys?: number[];
  onDetach: () => void;
  /** Whether the client's end of input ends the process's stdin (after `ready`, if given). */
  endsStdin: boolean;
  ready?: Promise<void>;
  /** Closing the FIFO's fd is the EOF the process reads; CloseIO tells the shim. */
  closeStdin: () => void;
}): void {
  const scanner = opts.detachKeys ? new DetachScanner(opts.detachKeys) : undefined;
  from.on('data', (d: Buffer) => {
    if (to.destroyed) return;
    if (!scanner) { to.write(d); return; }
    const { pass, detach } = scanner.push(d);
    if (pass.length) to.write(pass);
    if (detach) {
      from.removeAllListeners('data');
      from.removeAllListeners('end');
      opts.onDetach();
    }
  });
  from.on('end', () => {
    if (!opts.endsStdin) return;
    void (async () => {
      await opts.ready;
      if (to.destroyed) return;
      // end() would try a socket shutdown, which a FIFO refuses: destroy instead, once every
      // earlier write is flushed ('drain' comes only after a write that filled the buffer,
      // so waiting for it could wait forever).
      const close = () => { to.destroy(); opts.closeStdin(); };
      if (to.writableLength === 0) close();
      else to.write(Buffer.alloc(0), () => close());
    })();
  });
  from.on('error', () => {});
  to.on('error', () => {});
}
