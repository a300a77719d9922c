import { open, rename, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a file so that a crash at any moment leaves either the old content or the new one:
 * write a temp file beside it, fsync it, rename it over the target, fsync the directory.
 * Every metadata write in Berth goes through here.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', opts.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dir);
}

/**
 * Several files of one directory, each atomically: written and synced in parallel, renamed,
 * and the directory synced once. A crash leaves each file old or new.
 */
export async function writeFilesAtomic(dir: string, files: Array<{ name: string; data: string | Uint8Array; mode?: number }>): Promise<void> {
  const temps = await Promise.all(files.map(async (f) => {
    const tmp = join(dir, `.${f.name}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'w', f.mode ?? 0o644);
    try {
      await fh.writeFile(f.data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }));
  await Promise.all(files.map((f, i) => rename(temps[i]!, join(dir, f.name))));
  await syncDir(dir);
}

export async function writeJsonAtomic(path: string, value: unknown, opts: { mode?: number } = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value), opts);
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function ensureDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}
