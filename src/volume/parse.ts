import { posix } from 'node:path';
import { existsSync } from 'node:fs';
import type { MountPoint, MountSpec } from '../types/container.js';

/**
 * dockerd's Linux mount parser: `-v` strings (binds), `--mount` specs, `--volumes-from`
 * strings and tmpfs options, with its messages. A parsed mount point names a volume by
 * `Name` (to be created or found) or a host path by `Source`.
 */

const RW = new Set(['rw', 'ro']);
const LABEL = new Set(['z', 'Z']);
const PROPAGATION = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const CONSISTENCY = new Set(['consistent', 'cached', 'delegated']);
const COPY = new Set(['nocopy']);
export const DEFAULT_PROPAGATION = 'rprivate';

export class MountError extends Error {}

export const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;
export const invalidMode = (mode: string) => `invalid mode: ${mode}`;

export function validMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    if (RW.has(o)) counts[0]!++;
    else if (LABEL.has(o)) counts[1]!++;
    else if (PROPAGATION.has(o)) counts[2]!++;
    else if (COPY.has(o)) counts[3]!++;
    else if (CONSISTENCY.has(o)) counts[4]!++;
    else return false;
  }
  return counts.every((n) => n <= 1);
}

export function readWrite(mode: string): boolean {
  if (!validMode(mode)) return false;
  return !mode.split(',').includes('ro');
}

function propagationOf(mode: string): string | undefined {
  return mode.split(',').find((o) => PROPAGATION.has(o));
}

function clean(p: string): string {
  return posix.normalize(p.replace(/\\/g, '/')).replace(/(.)\/$/, '$1');
}

function validateNotRoot(p: string): void {
  if (clean(p) === '/') throw new MountError("invalid specification: destination can't be '/'");
}

function validateAbsolute(p: string): void {
  const s = p.replace(/\\/g, '/');
  if (!s.startsWith('/')) throw new MountError(`invalid mount path: '${s}' mount path must be absolute`);
}

/** A `--mount` spec checked as dockerd's validateMountConfigImpl; bind sources must exist when asked. */
export function validateMountConfig(m: MountSpec, bindSourceMustExist = true): void {
  const fail = (msg: string): never => { throw new MountError(`invalid mount config for type ${JSON.stringify(m.Type)}: ${msg}`); };
  const guard = (fn: () => void) => { try { fn(); } catch (err) { fail((err as Error).message); } };
  if (!m.Target) fail('field Target must not be empty');
  guard(() => validateNotRoot(m.Target));
  guard(() => validateAbsolute(m.Target));
  switch (m.Type) {
    case 'bind':
      if (!m.Source) fail('field Source must not be empty');
      if (m.BindOptions?.Propagation && !PROPAGATION.has(m.BindOptions.Propagation)) fail(`invalid propagation mode: ${m.BindOptions.Propagation}`);
      if (m.VolumeOptions) fail('field VolumeOptions must not be specified');
      guard(() => validateAbsolute(m.Source!));
      if (bindSourceMustExist && !existsSync(m.Source!)) fail(`bind source path does not exist: ${m.Source}`);
      break;
    case 'volume':
      if (m.BindOptions) fail('field BindOptions must not be specified');
      if (!m.Source && m.ReadOnly) fail('must not set ReadOnly mode when using anonymous volumes');
      break;
    case 'tmpfs':
      if (m.BindOptions) fail('field BindOptions must not be specified');
      if (m.Source) fail('field Source must not be specified');
      break;
    default:
      fail('mount type unknown');
  }
}

function fromSpec(spec: MountSpec, bindSourceMustExist: boolean): MountPoint {
  validateMountConfig(spec, bindSourceMustExist);
  const mp: MountPoint = {
    Source: '', Destination: clean(spec.Target), RW: !spec.ReadOnly, Name: '', Driver: '', Type: spec.Type,
    Relabel: '', Propagation: '', Spec: spec,
  };
  if (spec.Type === 'volume') {
    mp.Name = spec.Source ?? '';
    mp.CopyData = !spec.VolumeOptions?.NoCopy;
    mp.Driver = spec.VolumeOptions?.DriverConfig?.Name ?? '';
  } else if (spec.Type === 'bind') {
    mp.Source = clean(spec.Source!);
    mp.Propagation = spec.BindOptions?.Propagation || DEFAULT_PROPAGATION;
  }
  return mp;
}

/** `--mount` (HostConfig.Mounts): anonymous volumes keep an empty Name here. */
export function parseMountSpec(spec: MountSpec): MountPoint {
  return fromSpec(spec, true);
}

/** `-v` (HostConfig.Binds): `name:/dst[:mode]`, `/src:/dst[:mode]`. */
export function parseBind(raw: string, volumeDriver = ''): MountPoint {
  if ((raw.match(/:/g) ?? []).length > 2) throw new MountError(invalidSpec(raw));
  const arr = raw.split(':');
  if (arr[0] === '') throw new MountError(invalidSpec(raw));
  const spec: MountSpec = { Type: 'volume', Target: '' };
  let mode = '';
  if (arr.length === 1) spec.Target = arr[0]!;
  else if (arr.length === 2) {
    if (validMode(arr[1]!)) throw new MountError(invalidSpec(raw));
    spec.Source = arr[0]!;
    spec.Target = arr[1]!;
  } else {
    spec.Source = arr[0]!;
    spec.Target = arr[1]!;
    mode = arr[2]!;
  }
  if (!validMode(mode)) throw new MountError(invalidMode(mode));
  spec.Type = spec.Source?.startsWith('/') ? 'bind' : 'volume';
  if (!readWrite(mode)) spec.ReadOnly = true;
  if (volumeDriver && spec.Type === 'volume') spec.VolumeOptions = { DriverConfig: { Name: volumeDriver } };
  if (mode.split(',').includes('nocopy')) spec.VolumeOptions = { ...(spec.VolumeOptions ?? {}), NoCopy: true };
  const prop = propagationOf(mode);
  if (prop) spec.BindOptions = { Propagation: prop };
  try {
    const mp = fromSpec(spec, false);
    mp.Relabel = mode;
    return mp;
  } catch (err) {
    throw new MountError(`${invalidSpec(raw)}: ${(err as Error).message}`);
  }
}

/** `--volumes-from c[:ro|:rw]`: the container and the mode. */
export function parseVolumesFrom(spec: string): { id: string; mode: string } {
  if (spec === '') throw new MountError('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  if (i < 0) return { id: spec, mode: 'rw' };
  const mode = spec.slice(i + 1);
  if (!validMode(mode) || propagationOf(mode) || mode.split(',').includes('nocopy')) throw new MountError(invalidMode(mode));
  return { id: spec.slice(0, i), mode };
}

/** A `--tmpfs` destination: absolute and not the root. */
export function validateTmpfsDestination(dest: string): void {
  validateNotRoot(dest);
  validateAbsolute(dest);
}

/** dockerd's ConvertTmpfsOptions: `--mount type=tmpfs` options as mount data. */
export function tmpfsData(opt: MountSpec['TmpfsOptions'], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (opt?.Mode) raw.push(`mode=${opt.Mode.toString(8)}`);
  if (opt?.SizeBytes) {
    let size = opt.SizeBytes;
    let suffix = '';
    for (const [s, div] of [['g', 1 << 30], ['m', 1 << 20], ['k', 1 << 10]] as const) {
      if (size % div === 0) { size /= div; suffix = s; break; }
    }
    raw.push(`size=${size}${suffix}`);
  }
  return raw.join(',');
}

/** Flags that cancel each other in a tmpfs option list; the later one wins. */
const OPPOSITE: Record<string, string> = {
  ro: 'rw', rw: 'ro', exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev',
  atime: 'noatime', noatime: 'atime', diratime: 'nodiratime', nodiratime: 'diratime', sync: 'async', async: 'sync',
};

/** moby's MergeTmpfsOptions: defaults then the user's, later flags and `key=` values winning. */
export function mergeTmpfsOptions(options: string[]): string[] {
  const out: string[] = [];
  for (const o of options) {
    if (o === '') continue;
    const eq = o.indexOf('=');
    if (eq > 0) {
      const key = o.slice(0, eq + 1);
      const i = out.findIndex((x) => x.startsWith(key));
      if (i >= 0) out.splice(i, 1);
    } else {
      const i = out.findIndex((x) => x === o || x === OPPOSITE[o] || (PROPAGATION.has(o) && PROPAGATION.has(x)));
      if (i >= 0) out.splice(i, 1);
    }
    out.push(o);
  }
  return out;
}

type Shape = 'string' | 'bool' | 'number' | 'map' | { [k: string]: Shape };

const MOUNT_SHAPE: { [k: string]: Shape } = {
  Type: 'string', Source: 'string', Target: 'string', ReadOnly: 'bool', Consistency: 'string',
  BindOptions: { Propagation: 'string', NonRecursive: 'bool' },
  VolumeOptions: { NoCopy: 'bool', Labels: 'map', DriverConfig: { Name: 'string', Options: 'map' } },
  TmpfsOptions: { SizeBytes: 'number', Mode: 'number' },
};

function goKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;
}

/**
 * HostConfig.Mounts entries checked as Go's decoder would take them, so that a malformed
 * body is a 400 with its wording rather than a failure further in.
 */
export function checkMountShape(m: unknown, field = 'HostConfig.Mounts'): void {
  const refuse = (v: unknown, f: string, type: string): never => {
    throw new MountError(`json: cannot unmarshal ${goKind(v)} into Go struct field ${f} of type ${type}`);
  };
  const walk = (v: unknown, shape: { [k: string]: Shape }, f: string, type: string) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) refuse(v, f, type);
    for (const [k, s] of Object.entries(shape)) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || x === null) continue;
      const name = `${f}.${k}`;
      if (s === 'string' && typeof x !== 'string') refuse(x, name, 'string');
      else if (s === 'bool' && typeof x !== 'boolean') refuse(x, name, 'bool');
      else if (s === 'number' && (typeof x !== 'number' || !Number.isInteger(x))) refuse(x, name, 'int64');
      else if (s === 'map') {
        if (typeof x !== 'object' || Array.isArray(x)) refuse(x, name, 'map[string]string');
        for (const y of Object.values(x as object)) if (typeof y !== 'string') refuse(y, name, 'string');
      } else if (typeof s === 'object') walk(x, s, name, 'object');
    }
  };
  walk(m, MOUNT_SHAPE, field, 'mount.Mount');
}
