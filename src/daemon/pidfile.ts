import { open, readFile, rm } from 'node:fs/promises';
import { ConfigError } from '../lib/errors.js';
import { pidAlive } from '../lib/process.js';

/**
 * A pid file that doubles as a lock: created exclusively, holding our pid. One that names a
 * live berthd means another daemon owns the directory; one whose process is gone is stale
 * and taken over, as dockerd does after a crash.
 */
export class PidFile {
  readonly #path: string;
  readonly #pid: number;

  private constructor(path: string, pid: number) {
    this.#path = path;
    this.#pid = pid;
  }

  get path(): string { return this.#path; }

  /** `why` builds the refusal message from the pid that holds the file. */
  static async take(path: string, why: (pid: number) => string, pid = process.pid): Promise<PidFile> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(path, 'wx', 0o644);
        try {
          await fh.writeFile(`${pid}`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return new PidFile(path, pid);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (holder && holder !== pid && pidAlive(holder) && (await isBerthd(holder))) throw new ConfigError(why(holder));
      await rm(path, { force: true });
    }
    throw new ConfigError(why(0));
  }

  /** Removes the file if it is still ours. */
  async release(): Promise<void> {
    const holder = Number((await readFile(this.#path, 'utf8').catch(() => '')).trim());
    if (holder === this.#pid) await rm(this.#path, { force: true });
  }
}

async function isBerthd(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  // A recycled pid of some other program does not hold the lock.
  return cmdline === '' || /berthd|node/.test(cmdline);
}
