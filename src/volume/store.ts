import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../lib/atomic.js';
import { BerthError, Conflict, InvalidParameter, NotFound, SystemError, errorMessage } from '../lib/errors.js';
import { Mutex } from '../lib/mutex.js';
import { directorySize } from '../lib/du.js';
import type { Log } from '../lib/log.js';
import type { EventSink } from '../events/index.js';
import type { Filters } from '../api/filters.js';
import type { Driver } from './driver.js';
import { LocalDriver } from './local.js';

/** A volume as the Engine API shows it (types.Volume), field order as dockerd's JSON. */
export interface Volume {
  CreatedAt?: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local' | 'global';
  Status?: Record<string, unknown>;
  UsageData?: { Size: number; RefCount: number };
}

/** What the store keeps of a volume besides its driver's data (dockerd's metadata.db). */
interface Meta {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

/** Finds legacy volume plugins by name (plugins.ts); absent when there are none to find. */
export interface PluginFinder {
  driver(name: string): Promise<Driver | undefined>;
  /** Every plugin that can be found and is a volume driver, for listing. */
  all(): Promise<Driver[]>;
}

export interface VolumesDeps {
  dataRoot: string;
  events: EventSink;
  log: Log;
  /**
   * Which volumes each stored container refers to. References are read from the containers'
   * own records, so they survive a daemon restart with nothing else to keep in step.
   */
  users: () => Promise<Array<{ id: string; volumes: string[] }>>;
  plugins?: PluginFinder;
}

/** Rethrows with dockerd's `op name: ` prefix, keeping the class (and so the status). */
export function wrap(err: unknown, prefix: string): BerthError {
  const msg = `${prefix}: ${errorMessage(err)}`;
  if (err instanceof BerthError) {
    const Cls = err.constructor as new (m: string, o?: { cause?: unknown }) => BerthError;
    return new Cls(msg, { cause: err });
  }
  return new SystemError(msg, { cause: err });
}

/**
 * The volume store (dockerd's VolumesService): named and anonymous volumes of every driver,
 * their labels and options, and who refers to them. A "reference" is a container that uses
 * a volume; a volume with references cannot be removed.
 */
export class Volumes {
  readonly local: LocalDriver;
  readonly #d: VolumesDeps;
  readonly #meta: Map<string, Meta>;
  readonly #metaPath: string;
  /** References taken in this daemon's life, before the container's record may exist. */
  readonly #refs = new Map<string, Set<string>>();
  readonly #lock = new Mutex();
  #pruning = false;

  private constructor(d: VolumesDeps, local: LocalDriver, meta: Map<string, Meta>) {
    this.#d = d;
    this.local = local;
    this.#meta = meta;
    this.#metaPath = join(local.root, 'metadata.json');
  }

  static async open(d: VolumesDeps): Promise<Volumes> {
    const local = await LocalDriver.open(d.dataRoot, d.log);
    const meta = new Map<string, Meta>();
    const raw = await readFile(join(local.root, 'metadata.json'), 'utf8').catch(() => undefined);
    if (raw !== undefined) {
      try {
        for (const m of Object.values(JSON.parse(raw) as Record<string, Meta>)) meta.set(m.Name, m);
      } catch (err) {
        d.log.error({ err }, 'volume metadata unreadable: labels and options of volumes are lost');
      }
    }
    return new Volumes(d, local, meta);
  }

  async #save(): Promise<void> {
    await writeJsonAtomic(this.#metaPath, Object.fromEntries(this.#meta), { mode: 0o600 });
  }

  async #driver(name: string): Promise<Driver> {
    if (name === '' || name === 'local') return this.local;
    const p = await this.#d.plugins?.driver(name);
    if (!p) throw new NotFound(`error looking up volume plugin ${name}: plugin ${JSON.stringify(name)} not found`);
    return p;
  }

  /** Container IDs that refer to the volume, the in-flight ones included. */
  async references(name: string, except?: string): Promise<string[]> {
    const ids = new Set(this.#refs.get(name) ?? []);
    for (const u of await this.#d.users()) if (u.volumes.includes(name)) ids.add(u.id);
    if (except) ids.delete(except);
    return [...ids];
  }

  async #allReferences(): Promise<Map<string, Set<string>>> {
    const m = new Map<string, Set<string>>();
    const add = (name: string, id: string) => { let s = m.get(name); if (!s) m.set(name, (s = new Set())); s.add(id); };
    for (const [name, ids] of this.#refs) for (const id of ids) add(name, id);
    for (const u of await this.#d.users()) for (const n of u.volumes) add(n, u.id);
    return m;
  }

  reference(name: string, ref: string): void {
    let s = this.#refs.get(name);
    if (!s) this.#refs.set(name, (s = new Set()));
    s.add(ref);
  }

  /** Finds the volume and takes a reference to it in one step, so no removal slips between. */
  async acquire(name: string, driver: string, ref: string): Promise<Volume> {
    return this.#lock.run(async () => {
      const v = await this.get(name, { driver });
      this.reference(name, ref);
      return v;
    });
  }

  release(name: string, ref: string): void {
    const s = this.#refs.get(name);
    s?.delete(ref);
    if (s && s.size === 0) this.#refs.delete(name);
  }

  async #view(m: Meta, driver: Driver): Promise<Volume> {
    const created = await driver.createdAt?.(m.Name).catch(() => undefined);
    const path = await driver.path(m.Name).catch(() => '');
    return {
      ...(created ? { CreatedAt: rfc3339(created) } : {}),
      Driver: m.Driver, Labels: m.Labels, Mountpoint: path, Name: m.Name, Options: m.Options, Scope: driver.scope,
    };
  }

  /** The metadata of a volume, or what the local driver alone knows of it. */
  async #find(name: string, driverName = ''): Promise<{ meta: Meta; driver: Driver } | undefined> {
    const m = this.#meta.get(name);
    if (m) {
      if (driverName && driverName !== m.Driver) throw new Conflict('provided volume driver does not match stored driver');
      const driver = await this.#driver(m.Driver);
      if (await driver.exists(name)) return { meta: m, driver };
      return undefined;
    }
    if ((driverName === '' || driverName === 'local') && await this.local.exists(name)) {
      return { meta: { Name: name, Driver: 'local', Labels: null, Options: null }, driver: this.local };
    }
    if (driverName && driverName !== 'local') {
      const driver = await this.#driver(driverName);
      if (await driver.exists(name)) return { meta: { Name: name, Driver: driver.name, Labels: null, Options: null }, driver };
    }
    return undefined;
  }

  /**
   * Creates the volume, or returns the one of that name and driver; `reference` protects it
   * from removal at once. An empty name makes an anonymous volume with a random name.
   */
  async create(name: string, driverName: string, o: { options?: Record<string, string> | null; labels?: Record<string, string> | null; reference?: string } = {}): Promise<Volume> {
    if (name === '') name = randomBytes(32).toString('hex');
    const v = await this.#lock.run(async () => {
      try {
        const driver = await this.#driver(driverName);
        const old = this.#meta.get(name) ?? (await this.local.exists(name) ? { Name: name, Driver: 'local', Labels: null, Options: null } : undefined);
        if (old) {
          const oldDriver = await this.#driver(old.Driver).catch(() => undefined);
          const exists = oldDriver ? await oldDriver.exists(name).catch(() => false) : false;
          if (exists) {
            if (driverName && oldDriver !== driver) throw new Conflict(`driver '${old.Driver}' already has volume '${name}': volume name must be unique`);
            if (o.reference) this.reference(name, o.reference);
            return this.#view(old, oldDriver!);
          }
          if ((await this.references(name)).length > 0) {
            throw new Conflict(`found references to volume '${name}' in driver '${old.Driver}' but the volume was not found in the driver -- you may need to remove containers referencing this volume or force remove the volume to re-create it: volume name must be unique`);
          }
          this.#meta.delete(name);
        }
        await driver.create(name, o.options ?? {});
        const meta: Meta = { Name: name, Driver: driver.name, Labels: o.labels ?? null, Options: o.options ?? null };
        this.#meta.set(name, meta);
        await this.#save();
        if (o.reference) this.reference(name, o.reference);
        return this.#view(meta, driver);
      } catch (err) {
        throw wrap(err, `create ${name}`);
      }
    });
    this.#d.events.log('volume', 'create', { ID: v.Name, Attributes: { driver: v.Driver } });
    return v;
  }

  async get(name: string, o: { driver?: string; status?: boolean } = {}): Promise<Volume> {
    let found;
    try {
      found = await this.#find(name, o.driver);
    } catch (err) {
      throw wrap(err, `get ${name}`);
    }
    if (!found) throw new NotFound(`get ${name}: no such volume`);
    const v = await this.#view(found.meta, found.driver);
    if (o.status) {
      const s = await found.driver.status?.(name).catch(() => undefined);
      if (s) v.Status = s;
    }
    return v;
  }

  async #all(warnings: string[] = []): Promise<Array<{ meta: Meta; driver: Driver }>> {
    const out = new Map<string, { meta: Meta; driver: Driver }>();
    const drivers: Driver[] = [this.local, ...(await this.#d.plugins?.all() ?? [])];
    for (const driver of drivers) {
      let names: string[];
      try { names = await driver.list(); } catch (err) {
        this.#d.log.warn({ err, driver: driver.name }, 'listing volumes of a driver failed');
        warnings.push(`list ${driver.name}: ${errorMessage(err)}`);
        continue;
      }
      for (const name of names) {
        // Two drivers may both claim a name: the one the store made it with wins.
        const m = this.#meta.get(name);
        if (m && m.Driver === driver.name) out.set(name, { meta: m, driver });
        else if (!out.has(name)) out.set(name, { meta: { Name: name, Driver: driver.name, Labels: null, Options: null }, driver });
      }
    }
    return [...out.values()];
  }

  /** GET /volumes: filters dangling, driver, label, name. */
  async list(f: Filters): Promise<{ Volumes: Volume[]; Warnings: string[] | null }> {
    f.validate(['dangling', 'name', 'driver', 'label']);
    const dangling = f.has('dangling') ? danglingOf(f) : undefined;
    const refs = dangling === undefined ? undefined : await this.#allReferences();
    const out: Volume[] = [];
    const warnings: string[] = [];
    for (const { meta, driver } of await this.#all(warnings)) {
      if (f.has('driver') && !f.get('driver').includes(meta.Driver)) continue;
      if (f.has('name') && !f.regexMatch('name', meta.Name)) continue;
      if (!f.matchKVList('label', meta.Labels ?? {})) continue;
      if (refs && (refs.get(meta.Name)?.size ?? 0) > 0 === dangling) continue;
      out.push(await this.#view(meta, driver));
    }
    // A driver that could not list is a warning, as dockerd's OpErr for it.
    return { Volumes: out, Warnings: warnings.length ? warnings : null };
  }

  /** DELETE /volumes/{name}: `force` forgets a volume its driver cannot remove or find. */
  async remove(name: string, o: { force?: boolean } = {}, except?: string): Promise<void> {
    const driverName = await this.#lock.run(async () => {
      let found;
      try {
        found = await this.#find(name);
      } catch (err) {
        if (o.force) found = undefined; else throw wrap(err, `get ${name}`);
      }
      if (!found) {
        if (o.force) {
          if (this.#meta.delete(name)) await this.#save();
          return undefined;
        }
        throw new NotFound(`get ${name}: no such volume`);
      }
      const refs = await this.references(name, except);
      if (refs.length > 0) throw new Conflict(`remove ${name}: volume is in use - [${refs.join(', ')}]`);
      try {
        await found.driver.remove(name);
      } catch (err) {
        if (!o.force) throw wrap(err, `remove ${name}`);
        this.#d.log.warn({ err, volume: name }, 'volume removal failed: forgotten as asked');
      }
      if (this.#meta.delete(name)) await this.#save();
      this.#refs.delete(name);
      return found.meta.Driver;
    });
    if (driverName) this.#d.events.log('volume', 'destroy', { ID: name, Attributes: { driver: driverName } });
  }

  /** POST /volumes/prune as dockerd 20.10: every unused local volume without driver options. */
  async prune(f: Filters): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    f.validate(['label', 'label!']);
    if (this.#pruning) throw new Conflict('a prune operation is already running');
    this.#pruning = true;
    try {
      const refs = await this.#allReferences();
      const deleted: string[] = [];
      let reclaimed = 0;
      for (const { meta, driver } of await this.#all()) {
        if (driver !== this.local || this.local.hasOptions(meta.Name)) continue;
        if ((refs.get(meta.Name)?.size ?? 0) > 0) continue;
        const labels = meta.Labels ?? {};
        if (!f.matchKVList('label', labels)) continue;
        if (f.has('label!') && f.matchKVList('label!', labels)) continue;
        const size = await directorySize(this.local.dataPath(meta.Name)).catch(() => 0);
        try {
          await this.remove(meta.Name);
        } catch (err) {
          this.#d.log.warn({ err, volume: meta.Name }, 'prune could not remove a volume');
          continue;
        }
        reclaimed += size;
        deleted.push(meta.Name);
      }
      this.#d.events.log('volume', 'prune', { ID: '', Attributes: { reclaimed: String(reclaimed) } });
      return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
    } finally {
      this.#pruning = false;
    }
  }

  /** Mounts the volume for one user `id`; returns where its data is on the host. */
  async mount(name: string, driverName: string, id: string): Promise<string> {
    const found = await this.#find(name, driverName).catch((err: unknown) => { throw wrap(err, `get ${name}`); });
    if (!found) throw new NotFound(`get ${name}: no such volume`);
    return found.driver.mount(name, id);
  }

  async unmount(name: string, driverName: string, id: string): Promise<void> {
    const found = await this.#find(name, driverName).catch(() => undefined);
    if (found) await found.driver.unmount(name, id);
  }

  /** Local volumes without options, with their sizes and reference counts (GET /system/df). */
  async usage(): Promise<Volume[]> {
    const refs = await this.#allReferences();
    const out: Volume[] = [];
    for (const { meta, driver } of await this.#all()) {
      if (driver !== this.local || this.local.hasOptions(meta.Name)) continue;
      const v = await this.#view(meta, driver);
      const size = await directorySize(v.Mountpoint).catch(() => -1);
      out.push({ ...v, UsageData: { Size: size, RefCount: refs.get(meta.Name)?.size ?? 0 } });
    }
    return out;
  }

  /** At shutdown: unmounts what the local driver mounted. */
  close(): void {
    this.local.closeAll();
  }
}

function danglingOf(f: Filters): boolean {
  if (f.exactMatch('dangling', 'true') || f.exactMatch('dangling', '1')) return true;
  if (f.exactMatch('dangling', 'false') || f.exactMatch('dangling', '0')) return false;
  throw new InvalidParameter(`Invalid filter 'dangling=[${f.get('dangling').join(' ')}]'`);
}

/** Go's time.RFC3339 in UTC, whole seconds. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
