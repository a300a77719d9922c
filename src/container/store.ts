import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../lib/log.js';
import { writeFilesAtomic } from '../lib/atomic.js';
import { Conflict, InvalidParameter, NotFound } from '../lib/errors.js';
import type { Container } from './container.js';

/**
 * Containers on disk and in memory: `<data-root>/containers/<id>/config.v2.json` and
 * `hostconfig.json`, written atomically; names and IDs indexed for lookup by full ID, name
 * or unique ID prefix, with dockerd's errors.
 */
export class ContainerStore {
  readonly #root: string;
  readonly #byId = new Map<string, Container>();
  readonly #names = new Map<string, string>();

  private constructor(root: string) {
    this.#root = root;
  }

  dir(id: string): string { return join(this.#root, id); }

  /** Loads every container; one that cannot be read is logged and skipped. */
  static async open(root: string, log: Log): Promise<ContainerStore> {
    const s = new ContainerStore(root);
    await mkdir(root, { recursive: true, mode: 0o710 });
    for (const id of await readdir(root)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      try {
        const c = JSON.parse(await readFile(join(root, id, 'config.v2.json'), 'utf8')) as Container;
        c.HostConfig = JSON.parse(await readFile(join(root, id, 'hostconfig.json'), 'utf8').catch(() => '{}'));
        if (c.ID !== id) throw new Error('ID does not match its directory');
        s.#byId.set(id, c);
        s.#names.set(c.Name, id);
      } catch (err) {
        log.warn({ container: id, err: (err as Error).message }, 'skipping a container whose config cannot be read');
      }
    }
    return s;
  }

  all(): Container[] { return [...this.#byId.values()]; }

  /** Reserves a name; a name in use is a 409 with dockerd's wording. */
  reserveName(name: string, id: string): void {
    const full = name.startsWith('/') ? name : `/${name}`;
    const owner = this.#names.get(full);
    if (owner && owner !== id) {
      throw new Conflict(`Conflict. The container name "${full}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.#names.set(full, id);
  }

  releaseName(name: string): void { this.#names.delete(name); }

  hasName(name: string): boolean { return this.#names.has(name.startsWith('/') ? name : `/${name}`); }

  /** Full ID, name, or unique ID prefix, as dockerd's GetContainer resolves them. */
  get(ref: string): Container {
    if (!ref) throw new InvalidParameter('No container name or ID supplied');
    const exact = this.#byId.get(ref);
    if (exact) return exact;
    const byName = this.#names.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName && this.#byId.has(byName)) return this.#byId.get(byName)!;
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.#byId.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.#byId.get(matches[0]!)!;
      if (matches.length > 1) throw new InvalidParameter(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFound(`No such container: ${ref}`);
  }

  find(ref: string): Container | undefined {
    try { return this.get(ref); } catch { return undefined; }
  }

  async save(c: Container): Promise<void> {
    const dir = this.dir(c.ID);
    await mkdir(dir, { recursive: true, mode: 0o710 });
    const { HostConfig, ...config } = c;
    await writeFilesAtomic(dir, [
      { name: 'hostconfig.json', data: JSON.stringify(HostConfig), mode: 0o644 },
      { name: 'config.v2.json', data: JSON.stringify(config), mode: 0o600 },
    ]);
    this.#byId.set(c.ID, c);
  }

  async delete(c: Container): Promise<void> {
    this.#byId.delete(c.ID);
    if (this.#names.get(c.Name) === c.ID) this.#names.delete(c.Name);
    await rm(this.dir(c.ID), { recursive: true, force: true });
  }
}
