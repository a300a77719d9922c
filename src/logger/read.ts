import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { frame } from '../api/stdcopy.js';
import { formatTime, parseTime } from './time.js';
import { decodeRecord } from './decode.js';

/** One line read back from a log, as `GET /containers/{id}/logs` sends it. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** The text with its newline (none for a partial), after the timestamp and a space when asked. */
  line: Buffer;
}

export interface ReadOptions {
  follow: boolean;
  /** Nanoseconds; records before it are skipped. 0 or absent: from the start. */
  since?: bigint;
  /** Nanoseconds; reading stops at the first record after it. 0 or absent: no end. */
  until?: bigint;
  /** The last N records (of any stream, before since/until), counted across files; 'all' or negative: all. */
  tail: number | 'all';
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  signal: AbortSignal;
}

/** How often a follower looks for new records. */
const POLL_MS = 100;
const BLOCK = 256 * 1024;
/** Bytes kept before each decoded line for its timestamp ("2006-01-02T15:04:05.999999999Z "). */
const TIMESTAMP_ROOM = 40;

/**
 * Reads a json-file log as dockerd's jsonfilelog reader does: the rotated files oldest first
 * (`.N` or `.N.gz` … `.1`), then the current file; with follow, then what is appended to it,
 * across rotations, until `alive()` is false and everything written is read, or on abort.
 * Malformed records are skipped. Nothing is held whole: files are read a block at a time.
 */
export async function* readLogs(path: string, opts: ReadOptions, alive: () => boolean): AsyncGenerator<LogLine> {
  for await (const batch of readLogBatches(path, opts, alive)) yield* batch;
}

/**
 * readLogs a block at a time: the records of each block read, in order. A consumer that
 * handles many records per step (`docker logs` of a big file) is spared a hand-off each.
 */
export async function* readLogBatches(path: string, opts: ReadOptions, alive: () => boolean): AsyncGenerator<LogLine[]> {
  const { signal } = opts;
  if (signal.aborted) return;
  const since = opts.since ?? 0n;
  const until = opts.until ?? 0n;
  // dockerd: an `until` in the past makes a follow a plain read.
  const follow = opts.follow && (until === 0n || until > BigInt(Date.now()) * 1_000_000n);
  const tail = opts.tail === 'all' || opts.tail < 0 ? -1 : opts.tail;

  /** The record as the client gets it; null when filtered out; 'stop' once past `until`. */
  // Parsing a record's time costs as much as parsing the record: only when it is used.
  const needTime = since !== 0n || until !== 0n || opts.timestamps;
  const emit = (raw: Buffer): LogLine | null | 'stop' => {
    const rec = decode(raw, needTime);
    if (!rec) return null;
    if (since !== 0n && rec.time < since) return null;
    if (until !== 0n && rec.time > until) return 'stop';
    if (rec.stream === 'stdout' ? !opts.stdout : !opts.stderr) return null;
    const text = Buffer.from(rec.log, 'utf8');
    return { stream: rec.stream, line: opts.timestamps ? Buffer.concat([Buffer.from(`${formatTime(rec.time)} `), text]) : text };
  };

  // The current file is opened before the rotated ones are listed, so a rotation in between
  // shows as a `.1` that is this very file, which is then left out.
  let cur = await Cursor.open(path);
  const rotated: Rotated[] = [];
  try {
    rotated.push(...await openRotated(path, cur?.ino));
    // Where each file starts, for tail.
    const skip = new Map<Rotated, number>();
    let take = rotated.slice();
    if (tail === 0) {
      take = [];
      if (cur) cur.pos = cur.size;
    } else if (tail > 0) {
      let want = tail;
      if (cur) {
        const { offset, count } = await tailOffset(cur.file, cur.size, want);
        cur.pos = offset;
        want -= count;
      }
      take = [];
      for (let i = rotated.length - 1; i >= 0 && want > 0; i--) {
        const r = rotated[i]!;
        const total = await countLines(r);
        skip.set(r, Math.max(0, total - want));
        want -= Math.min(total, want);
        take.unshift(r);
      }
    }

    /**
     * The records of a batch of lines; `stop` once past `until`. Records in the writer's
     * layout are decoded straight into one buffer for the batch (each line a view of it, with
     * room before it for a timestamp); others go through JSON.parse.
     */
    const convert = (lines: Buffer[]): { out: LogLine[]; stop: boolean } => {
      const out: LogLine[] = [];
      const room = opts.timestamps ? TIMESTAMP_ROOM : 0;
      let size = 0;
      for (const raw of lines) size += raw.length + room;
      const arena = Buffer.allocUnsafe(size);
      let pos = 0;
      for (const raw of lines) {
        const start = pos + room;
        const fast = decodeRecord(raw, arena, start);
        if (!fast) {
          const r = emit(raw);
          if (r === 'stop') return { out, stop: true };
          if (r) out.push(r);
          continue;
        }
        if (fast.stream === 'stdout' ? !opts.stdout : !opts.stderr) continue;
        let begin = start;
        if (needTime) {
          const t = parseTime(fast.time);
          if (t === undefined) continue;
          if (since !== 0n && t < since) continue;
          if (until !== 0n && t > until) return { out, stop: true };
          if (opts.timestamps) {
            const ts = `${formatTime(t)} `;
            begin = start - ts.length;
            arena.write(ts, begin, 'latin1');
          }
        }
        out.push({ stream: fast.stream, line: arena.subarray(begin, fast.end) });
        pos = fast.end;
      }
      return { out, stop: false };
    };

    for (const r of take) {
      for await (const lines of rotatedLines(r, skip.get(r) ?? 0)) {
        if (signal.aborted) return;
        const { out, stop } = convert(lines);
        if (out.length) yield out;
        if (stop) return;
      }
    }

    for (;;) {
      if (signal.aborted) return;
      // Read `alive` first: what was written before the container stopped is then drained below.
      const more = follow && alive();
      let progressed = false;
      if (cur) {
        for await (const lines of cur.lines()) {
          if (signal.aborted) return;
          progressed = true;
          const { out, stop } = convert(lines);
          if (out.length) yield out;
          if (stop) return;
        }
      }
      if (!follow) return;
      // A rotation: drain the renamed file (its writer is done with it) and go on in the new one.
      const now = await inode(path);
      if (now !== undefined && now !== cur?.ino) {
        if (cur) {
          for await (const lines of cur.lines()) {
            if (signal.aborted) return;
            const { out, stop } = convert(lines);
            if (out.length) yield out;
            if (stop) return;
          }
          await cur.close();
        }
        cur = await Cursor.open(path);
        continue;
      }
      if (cur && (await cur.truncated())) continue;
      if (progressed) continue;
      if (!more) return;
      try {
        await sleep(POLL_MS, undefined, { signal });
      } catch {
        return;
      }
    }
  } finally {
    await cur?.close();
    for (const r of rotated) await r.file.close().catch(() => {});
  }
}

/** Frames a line for the client: raw with a TTY, else a stdcopy frame on stream 1 or 2. */
export function formatForClient(item: LogLine, tty: boolean): Buffer {
  return tty ? item.line : frame(item.stream === 'stdout' ? 1 : 2, item.line);
}

interface RecordFields { log: string; stream: 'stdout' | 'stderr'; time: bigint }

function decode(raw: Buffer, needTime = true): RecordFields | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { log, stream, time } = v as Record<string, unknown>;
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  if (typeof time !== 'string') return undefined;
  if (!needTime) return { log: typeof log === 'string' ? log : '', stream, time: 0n };
  const t = parseTime(time);
  if (t === undefined) return undefined;
  return { log: typeof log === 'string' ? log : '', stream, time: t };
}

/** The file at the log's path, read from `pos` on; records end at newlines. */
class Cursor {
  readonly file: FileHandle;
  readonly ino: number;
  readonly size: number;
  pos = 0;
  /** Bytes of a record not yet ended by its newline. */
  #rest: Buffer = Buffer.alloc(0);

  private constructor(file: FileHandle, ino: number, size: number) {
    this.file = file;
    this.ino = ino;
    this.size = size;
  }

  static async open(path: string): Promise<Cursor | undefined> {
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const st = await file.stat();
    return new Cursor(file, st.ino, st.size);
  }

  /** The complete records from `pos` to the end of the file as it is now, a block's worth at a time. */
  async *lines(): AsyncGenerator<Buffer[]> {
    for (;;) {
      // A fresh block each time: the records handed out are views into it.
      const buf = Buffer.allocUnsafe(BLOCK);
      const { bytesRead } = await this.file.read(buf, 0, BLOCK, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      let data = this.#rest.length > 0 ? Buffer.concat([this.#rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let nl: number;
      const out: Buffer[] = [];
      while ((nl = data.indexOf(0x0a)) >= 0) {
        out.push(data.subarray(0, nl));
        data = data.subarray(nl + 1);
      }
      this.#rest = Buffer.from(data);
      if (out.length) yield out;
    }
  }

  /** Whether the file was truncated under us (max-file 1); if so, reading starts over. */
  async truncated(): Promise<boolean> {
    const { size } = await this.file.stat();
    if (size >= this.pos) return false;
    this.pos = 0;
    this.#rest = Buffer.alloc(0);
    return true;
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => {});
  }
}

async function inode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch {
    return undefined;
  }
}

interface Rotated { index: number; gz: boolean; file: FileHandle }

/** The rotated files, oldest first, opened now so that a later rotation cannot move them. */
async function openRotated(path: string, currentIno: number | undefined): Promise<Rotated[]> {
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  const found = new Map<number, boolean>(); // index → gz only
  for (const n of names) {
    if (!n.startsWith(`${base}.`)) continue;
    const m = /^(\d+)(\.gz)?$/.exec(n.slice(base.length + 1));
    if (!m) continue;
    const i = Number(m[1]);
    if (i < 1) continue;
    // A plain file wins over its .gz: it is being compressed and the .gz may be unfinished.
    if (!m[2]) found.set(i, false);
    else if (!found.has(i)) found.set(i, true);
  }
  const out: Rotated[] = [];
  for (const i of [...found.keys()].sort((a, b) => b - a)) {
    const tryOpen = async (gz: boolean): Promise<Rotated | undefined> => {
      try {
        const file = await open(`${path}.${i}${gz ? '.gz' : ''}`, 'r');
        return { index: i, gz, file };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    };
    // The plain file may have just been compressed away.
    const r = (found.get(i) ? undefined : await tryOpen(false)) ?? await tryOpen(true);
    if (!r) continue;
    if (!r.gz && currentIno !== undefined && (await r.file.stat()).ino === currentIno) {
      await r.file.close();
      continue;
    }
    out.push(r);
  }
  return out;
}

function rotatedStream(r: Rotated): Readable {
  const raw = Readable.from(blocks(r.file));
  if (!r.gz) return raw;
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

/** A file's bytes from the start, by positional reads that leave the handle open. */
async function* blocks(file: FileHandle): AsyncGenerator<Buffer> {
  for (let pos = 0; ;) {
    const buf = Buffer.allocUnsafe(BLOCK);
    const { bytesRead } = await file.read(buf, 0, BLOCK, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** The records of a rotated file after the first `skip`; a damaged .gz ends quietly. */
async function* rotatedLines(r: Rotated, skip: number): AsyncGenerator<Buffer[]> {
  const src = rotatedStream(r);
  let rest: Buffer = Buffer.alloc(0);
  let n = 0;
  try {
    for await (const chunk of src) {
      let data = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      let nl: number;
      const out: Buffer[] = [];
      while ((nl = data.indexOf(0x0a)) >= 0) {
        if (n++ >= skip) out.push(Buffer.from(data.subarray(0, nl)));
        data = data.subarray(nl + 1);
      }
      rest = Buffer.from(data);
      if (out.length) yield out;
    }
  } catch {
    // A .gz cut short (dockerd was killed while compressing) has nothing more to give.
  } finally {
    src.destroy();
  }
}

async function countLines(r: Rotated): Promise<number> {
  let n = 0;
  const src = rotatedStream(r);
  try {
    for await (const chunk of src) {
      const b = chunk as Buffer;
      for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) n++;
    }
  } catch {
    // As in rotatedLines.
  } finally {
    src.destroy();
  }
  return n;
}

/**
 * Where the last `n` complete records of the first `size` bytes start, and how many there are
 * (fewer than `n` if the file is short), scanning back from the end a block at a time.
 */
async function tailOffset(file: FileHandle, size: number, n: number): Promise<{ offset: number; count: number }> {
  const buf = Buffer.allocUnsafe(BLOCK);
  let end = size;
  let newlines = 0;
  while (end > 0) {
    const start = Math.max(0, end - BLOCK);
    const { bytesRead } = await file.read(buf, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      newlines++;
      // The (n+1)th newline from the end closes the record before the ones wanted.
      if (newlines === n + 1) return { offset: start + i + 1, count: n };
    }
    end = start;
  }
  return { offset: 0, count: newlines };
}

