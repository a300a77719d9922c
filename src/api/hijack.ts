import type { Socket } from 'node:net';

/**
 * Connection hijacking for attach and exec, in the two forms dockerd answers:
 * - the client sent `Connection: Upgrade` and `Upgrade: tcp`: a `101 UPGRADED` head;
 * - it did not: the older `200 OK` head with the raw-stream content type, after which the
 *   connection carries the raw stream in both directions and is no longer HTTP.
 */
export const RAW_STREAM = 'application/vnd.docker.raw-stream';

export function hijackHead(upgrade: boolean): string {
  return upgrade
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${RAW_STREAM}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
    : `HTTP/1.1 200 OK\r\nContent-Type: ${RAW_STREAM}\r\n\r\n`;
}

interface ParserSocket extends Socket {
  parser?: { unconsume?: () => void; finish?: () => void; _consumed?: boolean } | null;
}

/**
 * Takes a socket away from Node's HTTP server after a request that did not ask for an
 * upgrade. Node's server reads such a socket through its parser (in C++, not through 'data'
 * events); stopping that and dropping its listeners leaves a plain duplex for the raw stream.
 * Bytes the client pipelined before it saw our head would have been read as a new request,
 * which is why clients of this form wait for the head before they write.
 */
export function detachFromHttp(socket: ParserSocket): void {
  const parser = socket.parser;
  for (const ev of ['data', 'end', 'drain', 'timeout', 'error', 'pause', 'resume']) {
    for (const fn of socket.listeners(ev) as Array<(...a: unknown[]) => void>) {
      // Only the HTTP server's own listeners (socketOnData, onSocketResume, ...) go.
      if (/socketOn|onSocket/.test(fn.name)) socket.removeListener(ev, fn);
    }
  }
  if (parser) {
    if (parser._consumed) parser.unconsume?.();
    parser._consumed = false;
    socket.parser = null;
  }
  socket.setTimeout(0);
  // The server's 'close' listener stays: it cleans the server's own state up.
  socket.on('error', () => socket.destroy());
}
