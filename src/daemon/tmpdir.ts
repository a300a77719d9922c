import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../lib/log.js';

/**
 * Prepares `<data-root>/tmp` as dockerd does: an old one is renamed aside and deleted in the
 * background, so a huge leftover never delays start-up.
 */
export async function prepareTmpDir(dataRoot: string, log: Log): Promise<string> {
  const tmp = join(dataRoot, 'tmp');
  try {
    await rename(tmp, `${tmp}-old-${Date.now()}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(tmp, { mode: 0o700 });
  void removeOld(dataRoot).catch((err: unknown) => log.warn({ err }, 'failed to remove an old tmp dir'));
  return tmp;
}

async function removeOld(dataRoot: string): Promise<void> {
  for (const name of await readdir(dataRoot)) {
    if (name.startsWith('tmp-old')) await rm(join(dataRoot, name), { recursive: true, force: true });
  }
}
