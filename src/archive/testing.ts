// Helpers shared by the archive tests; not part of the subsystem's front door.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readTar, type ReadTarOptions } from './reader.js';
import type { TarHeader } from './header.js';

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'berth-archive-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function run(cmd: string, args: string[], cwd?: string): Buffer {
  return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export async function streamSha256(s: Readable): Promise<{ digest: string; length: number }> {
  const h = createHash('sha256');
  let length = 0;
  for await (const c of s as AsyncIterable<Buffer>) {
    h.update(c);
    length += c.length;
  }
  return { digest: h.digest('hex'), length };
}

export async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export interface ReadEntry {
  header: TarHeader;
  raw: Buffer;
  body: Buffer;
  padding: Buffer;
}

/** Reads a whole (small) archive: entries with their bodies, and the trailer. */
export async function readAll(
  input: Buffer | Readable,
  opts: ReadTarOptions = {},
): Promise<{ entries: ReadEntry[]; trailer: Buffer }> {
  const stream = Buffer.isBuffer(input) ? chunked(input, 7 * 1024) : input;
  const reader = readTar(stream, opts);
  const entries: ReadEntry[] = [];
  for await (const e of reader) {
    const body = await collect(e.body);
    entries.push({ header: e.header, raw: e.raw, body, padding: e.padding });
  }
  return { entries, trailer: reader.trailer! };
}

/** A stream of `buf` in chunks of `size` bytes, so that blocks straddle chunk boundaries. */
export function chunked(buf: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

/** The archive again: raw + body + padding of every entry, then the trailer. */
export function rejoin(r: { entries: ReadEntry[]; trailer: Buffer }): Buffer {
  return Buffer.concat([...r.entries.flatMap((e) => [e.raw, e.body, e.padding]), r.trailer]);
}
