import { execFile } from 'node:child_process';
import { access, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NotFound, SystemError } from '../../lib/errors.js';
import type { GraphDriver } from './driver.js';

const run = promisify(execFile);

/**
 * vfs: every layer a full copy of its parent plus its own changes, under
 * `<data-root>/vfs/dir/<id>`. No mounts; works on any filesystem; costs disk and time. The
 * copy is GNU cp -a, which keeps owners, modes, times, xattrs, links and device nodes.
 */
export class Vfs implements GraphDriver {
  readonly name = 'vfs' as const;
  readonly whiteouts = 'delete' as const;
  readonly #home: string;

  constructor(home: string) {
    this.#home = home;
  }

  async init(): Promise<void> {
    await mkdir(join(this.#home, 'dir'), { recursive: true, mode: 0o700 });
  }

  #dir(id: string): string {
    if (!/^[0-9a-f]{64}(-init)?$/.test(id)) throw new SystemError(`invalid layer id ${id}`);
    return join(this.#home, 'dir', id);
  }

  diffPath(id: string): string { return this.#dir(id); }

  async create(id: string, parent: string | undefined): Promise<void> {
    const dir = this.#dir(id);
    await mkdir(dir, { mode: 0o755 });
    if (parent) {
      try {
        await run('cp', ['-a', '--reflink=auto', `${this.#dir(parent)}/.`, dir]);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw new SystemError(`vfs: copying layer ${parent}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  createReadWrite(id: string, parent: string | undefined): Promise<void> { return this.create(id, parent); }

  async exists(id: string): Promise<boolean> { return access(this.#dir(id)).then(() => true, () => false); }

  async get(id: string): Promise<string> {
    if (!(await this.exists(id))) throw new NotFound(`layer ${id} does not exist`);
    return this.#dir(id);
  }

  async put(): Promise<void> {}

  async remove(id: string): Promise<void> { await rm(this.#dir(id), { recursive: true, force: true }); }

  async list(): Promise<string[]> {
    return (await readdir(join(this.#home, 'dir'))).filter((n) => /^[0-9a-f]{64}(-init)?$/.test(n));
  }

  status(): Array<[string, string]> { return []; }

  async cleanup(_keep?: ReadonlySet<string>): Promise<void> {}
}
