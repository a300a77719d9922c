import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Container } from '../container/container.js';
import type { MountProvider } from '../container/ports.js';
import type { OciMount } from '../container/spec/types.js';
import { resolveInScope } from '../container/archive-path.js';
import type { MountPoint, MountSpec } from '../types/container.js';
import type { EventSink } from '../events/index.js';
import type { Log } from '../lib/log.js';
import { InvalidParameter, SystemError, errorMessage } from '../lib/errors.js';
import { copyUp } from './copy.js';
import {
  MountError, checkMountShape, mergeTmpfsOptions, parseBind, parseMountSpec, parseVolumesFrom, readWrite, tmpfsData,
  validateMountConfig, validateTmpfsDestination,
} from './parse.js';
import { wrap, type Volumes } from './store.js';

export interface MountsDeps {
  volumes: Volumes;
  /** A container by name or ID prefix, for --volumes-from (throws NotFound). */
  lookup: (ref: string) => Container;
  events: EventSink;
  log: Log;
  /**
   * The container's root filesystem, mounted for a moment at create: the image's content goes
   * into empty volumes then, as dockerd does it (so a never-started data container still fills
   * its volumes). Without it, the copy is made at the first start.
   */
  root?: { mount(id: string): Promise<string>; unmount(id: string): Promise<void> };
}

interface Active { name: string; driver: string; id: string }

/** dockerd's mount parts count, for mounting parents before children. */
const depth = (p: string) => posix.normalize(p).split('/').length;

function asInvalid(err: unknown): unknown {
  return err instanceof MountError ? new InvalidParameter(err.message, { cause: err }) : err;
}

/**
 * The container service's MountProvider: turns HostConfig's Binds, Mounts, Tmpfs and
 * VolumesFrom and the image's VOLUMEs into MountPoints at create, mounts volumes (copy-up
 * on the first start) for each run, and lets go of them at the end of a run and at removal.
 */
export class Mounts implements MountProvider {
  readonly #d: MountsDeps;
  /** Volumes mounted for a container's current run. */
  readonly #active = new Map<string, Active[]>();

  constructor(d: MountsDeps) { this.#d = d; }

  async create(c: Container, imageVolumes: Record<string, object>): Promise<string[]> {
    const hc = c.HostConfig;
    const vols = this.#d.volumes;
    const points: Record<string, MountPoint> = {};
    const anonymous: string[] = [];
    const referenced = new Set<string>();
    const takeVolume = async (name: string, driver: string, o: { options?: Record<string, string> | null; labels?: Record<string, string> | null } = {}) => {
      const v = await vols.create(name, driver, { ...o, reference: c.ID });
      referenced.add(v.Name);
      if (name === '') anonymous.push(v.Name);
      return v;
    };
    // A later mount at a destination replaces an earlier one (dockerd's dereferenceIfExists).
    const put = (mp: MountPoint) => {
      const old = points[mp.Destination];
      points[mp.Destination] = mp;
      if (old?.Type === 'volume' && old.Name && old.Name !== mp.Name && !Object.values(points).some((p) => p.Name === old.Name)) {
        vols.release(old.Name, c.ID);
        referenced.delete(old.Name);
      }
    };
    try {
      for (const dest of Object.keys(hc.Tmpfs ?? {})) {
        try { validateTmpfsDestination(dest); } catch (err) { throw asInvalid(new MountError((err as Error).message)); }
      }
      if (hc.Mounts != null && !Array.isArray(hc.Mounts)) throw new InvalidParameter('json: cannot unmarshal object into Go struct field HostConfig.Mounts of type []mount.Mount');
      for (const m of hc.Mounts ?? []) {
        try { checkMountShape(m); validateMountConfig(m); } catch (err) { throw asInvalid(err); }
      }
      for (const spec of hc.VolumesFrom ?? []) {
        let from: { id: string; mode: string };
        try { from = parseVolumesFrom(spec); } catch (err) { throw asInvalid(err); }
        let src: Container;
        try { src = this.#d.lookup(from.id); } catch (err) { throw new InvalidParameter(errorMessage(err), { cause: err }); }
        for (const m of Object.values(src.MountPoints ?? {})) {
          const cp: MountPoint = { ...m, RW: m.RW && readWrite(from.mode), CopyData: false };
          delete cp.ID;
          if (m.Type === 'volume' && m.Name) {
            await vols.acquire(m.Name, m.Driver, c.ID);
            referenced.add(m.Name);
          }
          put(cp);
        }
      }
      const binds = new Set<string>();
      for (const raw of hc.Binds ?? []) {
        let mp: MountPoint;
        try { mp = parseBind(raw, hc.VolumeDriver ?? ''); } catch (err) { throw asInvalid(err); }
        this.#bindInDaemonRoot(mp);
        if (binds.has(mp.Destination) || Object.hasOwn(hc.Tmpfs ?? {}, mp.Destination)) {
          throw new InvalidParameter(`Duplicate mount point: ${mp.Destination}`);
        }
        if (mp.Type === 'volume') {
          const v = await takeVolume(mp.Name, mp.Driver);
          Object.assign(mp, { Name: v.Name, Source: v.Mountpoint, Driver: v.Driver });
          if (v.Driver === 'local' && mp.Relabel === '') mp.Relabel = 'z';
        }
        binds.add(mp.Destination);
        put(mp);
      }
      for (const spec of hc.Mounts ?? []) {
        let mp: MountPoint;
        try { mp = parseMountSpec(spec); } catch (err) { throw asInvalid(err); }
        this.#bindInDaemonRoot(mp);
        if (binds.has(mp.Destination)) throw new InvalidParameter(`Duplicate mount point: ${spec.Target}`);
        if (mp.Type === 'volume') {
          const o = spec.VolumeOptions;
          const v = await takeVolume(mp.Name, mp.Driver, o ? { options: o.DriverConfig?.Options ?? null, labels: o.Labels ?? null } : {});
          Object.assign(mp, { Name: v.Name, Source: v.Mountpoint, Driver: v.Driver });
          if (v.Driver === 'local' && mp.Relabel === '') mp.Relabel = 'z';
        }
        if (mp.Type === 'bind') mp.SkipMountpointCreation = true;
        binds.add(mp.Destination);
        put(mp);
      }
      // The image's VOLUMEs and `-v /path`: an anonymous volume each, unless mounted already.
      const explicit = new Set(Object.keys(points));
      const wanted = new Set([...Object.keys(imageVolumes ?? {}), ...Object.keys(c.Config.Volumes ?? {})]);
      for (const spec of wanted) {
        const dest = posix.normalize(spec).replace(/(.)\/$/, '$1');
        if (points[dest] || Object.hasOwn(hc.Tmpfs ?? {}, dest)) continue;
        const v = await takeVolume('', hc.VolumeDriver ?? '');
        points[dest] = {
          Source: '', Destination: dest, RW: true, Name: v.Name, Driver: v.Driver, Type: 'volume',
          Relabel: '', Propagation: '', Spec: {} as MountSpec, CopyData: true,
        };
      }
      if (this.#d.root) await this.#populate(c, points, Object.keys(points).filter((dest) => !explicit.has(dest)));
    } catch (err) {
      for (const name of referenced) vols.release(name, c.ID);
      for (const name of anonymous) {
        await vols.remove(name).catch((e: unknown) => this.#d.log.warn({ err: e, volume: name }, 'removing an anonymous volume failed'));
      }
      throw err;
    }
    c.MountPoints = points;
    return [];
  }

  /**
   * A bind of (or above) the data root: it must not hide the daemon's own mounts from the
   * container's view of them, so it is rslave unless rslave or rshared was asked for.
   */
  #bindInDaemonRoot(mp: MountPoint): void {
    if (mp.Type !== 'bind') return;
    const root = posix.dirname(this.#d.volumes.local.root);
    const src = mp.Spec.Source ?? mp.Source;
    if (!src.startsWith(root) && !root.startsWith(src)) return;
    const asked = mp.Spec.BindOptions?.Propagation ?? '';
    if (asked === '') { mp.Propagation = 'rslave'; return; }
    if (asked === 'rslave' || asked === 'rshared') return;
    throw new InvalidParameter(`invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: ${JSON.stringify(root)}, bind mount source: ${JSON.stringify(src)}, propagation: ${JSON.stringify(asked)}`);
  }

  /**
   * Copy-up at create (dockerd's populateVolumes), and its refusal to put an image volume
   * over a file (`anonymousDests` are those made for the image's VOLUMEs and `-v /path`).
   */
  async #populate(c: Container, points: Record<string, MountPoint>, anonymousDests: string[]): Promise<void> {
    const copies = Object.values(points).filter((mp) => mp.Type === 'volume' && mp.Name && mp.CopyData);
    if (copies.length === 0) return;
    const root = await this.#d.root!.mount(c.ID);
    try {
      for (const dest of anonymousDests) {
        const host = await resolveInScope(root, dest);
        const st = await stat(host).catch(() => undefined);
        if (st && !st.isDirectory()) throw new SystemError(`cannot mount volume over existing file, file exists ${host}`);
      }
      for (const mp of copies) {
        const id = randomBytes(32).toString('hex');
        const path = await this.#d.volumes.mount(mp.Name, mp.Driver, id);
        try {
          await copyUp(await resolveInScope(root, mp.Destination), path);
        } finally {
          await this.#d.volumes.unmount(mp.Name, mp.Driver, id);
        }
      }
    } finally {
      await this.#d.root!.unmount(c.ID);
    }
  }

  async setup(c: Container, rootfs: string): Promise<OciMount[]> {
    const out: OciMount[] = [];
    const active: Active[] = [];
    const tmpfs = c.HostConfig.Tmpfs ?? {};
    const points = Object.values(c.MountPoints ?? {}).sort((a, b) => depth(a.Destination) - depth(b.Destination));
    try {
      for (const mp of points) {
        if (mp.Type === 'tmpfs' || Object.hasOwn(tmpfs, mp.Destination)) continue;
        let source: string;
        if (mp.Type === 'volume' && mp.Name) {
          const id = mp.ID || randomBytes(32).toString('hex');
          source = await this.#d.volumes.mount(mp.Name, mp.Driver, id).catch((err: unknown) => {
            throw wrap(err, `error while mounting volume '${mp.Source}'`);
          });
          active.push({ name: mp.Name, driver: mp.Driver, id });
          mp.ID = id;
          if (!this.#d.root && mp.CopyData && !c.HasBeenStartedBefore) {
            await copyUp(await resolveInScope(rootfs, mp.Destination), source);
          }
          this.#d.events.log('volume', 'mount', {
            ID: mp.Name,
            Attributes: { container: c.ID, destination: mp.Destination, driver: mp.Driver, propagation: mp.Propagation, 'read/write': String(mp.RW) },
          });
        } else {
          source = mp.Source;
          if (!source) throw new Error('Unable to setup mount point, neither source nor volume defined');
          if (!mp.SkipMountpointCreation) {
            await mkdir(source, { recursive: true, mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
              if (err.code !== 'EEXIST' && err.code !== 'ENOTDIR') throw new Error(`error while creating mount source path '${source}': ${err.message}`);
            });
          }
        }
        if (mp.Type === 'bind' && mp.Propagation && mp.Propagation !== 'private' && mp.Propagation !== 'rprivate') {
          await this.#checkPropagation(mp, source);
        }
        const options = [mp.Spec?.BindOptions?.NonRecursive ? 'bind' : 'rbind'];
        if (!mp.RW) options.push('ro');
        if (mp.Propagation) options.push(mp.Propagation);
        out.push({ destination: mp.Destination, type: 'bind', source, options });
      }
    } catch (err) {
      await this.#unmountAll(c, active);
      throw err;
    }
    const tmpfsMounts: Array<[string, string]> = Object.entries(tmpfs);
    for (const mp of points) if (mp.Type === 'tmpfs') tmpfsMounts.push([mp.Destination, tmpfsData(mp.Spec.TmpfsOptions, !!mp.Spec.ReadOnly)]);
    for (const [destination, data] of tmpfsMounts) {
      const options = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])]);
      out.push({ destination, type: 'tmpfs', source: 'tmpfs', options });
    }
    this.#active.set(c.ID, active);
    return out.sort((a, b) => depth(a.destination) - depth(b.destination));
  }

  /**
   * Shared and slave binds need a source whose mount propagates (dockerd's ensureShared and
   * ensureSharedOrSlave); a bind in the data root made rslave by default falls back quietly.
   */
  async #checkPropagation(mp: MountPoint, source: string): Promise<void> {
    const shared = mp.Propagation === 'shared' || mp.Propagation === 'rshared';
    const { mountPoint, optional } = await sourceMount(source);
    const ok = optional.some((o) => o.startsWith('shared:') || (!shared && o.startsWith('master:')));
    if (ok) return;
    const root = posix.dirname(this.#d.volumes.local.root);
    if (!shared && (source.startsWith(root) || root.startsWith(source)) && !mp.Spec.BindOptions?.Propagation) {
      this.#d.log.warn({ source }, 'Falling back to default propagation for bind source in daemon root');
      return;
    }
    throw new SystemError(`path ${source} is mounted on ${mountPoint} but it is not a shared${shared ? '' : ' or slave'} mount`);
  }

  async #unmountAll(c: Container, active: Active[]): Promise<void> {
    for (const a of active) {
      try {
        await this.#d.volumes.unmount(a.name, a.driver, a.id);
        this.#d.events.log('volume', 'unmount', { ID: a.name, Attributes: { container: c.ID, driver: a.driver } });
      } catch (err) {
        this.#d.log.warn({ err, volume: a.name, container: c.ID }, 'unmounting a volume failed');
      }
    }
  }

  async teardown(c: Container): Promise<void> {
    // A run begun by an earlier daemon (restored or adopted) is known by the mount IDs its
    // record keeps, so a plugin still hears the Unmount that matches its Mount.
    const active = this.#active.get(c.ID) ?? Object.values(c.MountPoints ?? {})
      .filter((mp) => mp.Type === 'volume' && mp.Name && mp.ID)
      .map((mp) => ({ name: mp.Name, driver: mp.Driver, id: mp.ID! }));
    this.#active.delete(c.ID);
    await this.#unmountAll(c, active);
    for (const mp of Object.values(c.MountPoints ?? {})) delete mp.ID;
  }

  async remove(c: Container, removeVolumes: boolean): Promise<void> {
    const failures: string[] = [];
    for (const mp of Object.values(c.MountPoints ?? {})) {
      if (mp.Type !== 'volume' || !mp.Name) continue;
      this.#d.volumes.release(mp.Name, c.ID);
      // Named volumes stay: only those made for the container go.
      if (!removeVolumes || mp.Spec?.Source) continue;
      const others = await this.#d.volumes.references(mp.Name, c.ID);
      if (others.length > 0) continue;
      try {
        await this.#d.volumes.remove(mp.Name, {}, c.ID);
      } catch (err) {
        failures.push(errorMessage(err));
      }
    }
    if (failures.length) this.#d.log.warn({ container: c.ID, failures }, 'removing volumes of a container failed');
  }

  view(c: Container): object[] {
    return Object.values(c.MountPoints ?? {}).map((m) => ({
      Type: m.Type,
      ...(m.Name ? { Name: m.Name } : {}),
      Source: m.Type === 'volume' && m.Name && (m.Driver === 'local' || !m.Driver) ? this.#d.volumes.local.dataPath(m.Name) : m.Source,
      Destination: m.Destination,
      ...(m.Driver ? { Driver: m.Driver } : {}),
      Mode: m.Relabel,
      RW: m.RW,
      Propagation: m.Propagation,
    }));
  }
}

/** The mount holding `path` (its real path) and that mount's optional fields (shared:N, master:N). */
async function sourceMount(path: string): Promise<{ mountPoint: string; optional: string[] }> {
  const real = await realpath(path);
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  let best = { mountPoint: '/', optional: [] as string[], len: -1 };
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f.length < 7) continue;
    const mp = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const under = mp === '/' || real === mp || real.startsWith(mp + '/');
    // The last of several mounts on one point is the visible one.
    if (under && mp.length >= best.len) best = { mountPoint: mp, optional: f.slice(6, f.indexOf('-')), len: mp.length };
  }
  return { mountPoint: best.mountPoint, optional: best.optional };
}
