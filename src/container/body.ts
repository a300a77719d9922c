import { InvalidParameter } from '../lib/errors.js';

/**
 * The JSON types of the create and update bodies, checked before anything reads them, as
 * Go's decoder refuses a value of the wrong type (with its wording). Fields not listed are
 * passed on unchecked; unknown fields are ignored, as dockerd ignores them.
 */
type Kind = 'string' | 'number' | 'bool' | 'strings' | 'object' | 'map' | 'array';

const CONFIG: Record<string, Kind> = {
  Hostname: 'string', Domainname: 'string', User: 'string', AttachStdin: 'bool', AttachStdout: 'bool',
  AttachStderr: 'bool', ExposedPorts: 'object', Tty: 'bool', OpenStdin: 'bool', StdinOnce: 'bool', Env: 'strings',
  Cmd: 'strings', Healthcheck: 'object', ArgsEscaped: 'bool', Image: 'string', Volumes: 'object', WorkingDir: 'string',
  Entrypoint: 'strings', NetworkDisabled: 'bool', MacAddress: 'string', OnBuild: 'strings', Labels: 'map',
  StopSignal: 'string', StopTimeout: 'number', Shell: 'strings', HostConfig: 'object', NetworkingConfig: 'object',
};

const HOST_CONFIG: Record<string, Kind> = {
  Binds: 'strings', ContainerIDFile: 'string', LogConfig: 'object', NetworkMode: 'string', PortBindings: 'object',
  RestartPolicy: 'object', AutoRemove: 'bool', VolumeDriver: 'string', VolumesFrom: 'strings', CapAdd: 'strings',
  CapDrop: 'strings', CgroupnsMode: 'string', Dns: 'strings', DnsOptions: 'strings', DnsSearch: 'strings',
  ExtraHosts: 'strings', GroupAdd: 'strings', IpcMode: 'string', Cgroup: 'string', Links: 'strings', OomScoreAdj: 'number',
  PidMode: 'string', Privileged: 'bool', PublishAllPorts: 'bool', ReadonlyRootfs: 'bool', SecurityOpt: 'strings',
  StorageOpt: 'map', Tmpfs: 'map', UTSMode: 'string', UsernsMode: 'string', ShmSize: 'number', Sysctls: 'map',
  Runtime: 'string', Isolation: 'string', CpuShares: 'number', Memory: 'number', NanoCpus: 'number',
  CgroupParent: 'string', BlkioWeight: 'number', CpuPeriod: 'number', CpuQuota: 'number', CpuRealtimePeriod: 'number',
  CpuRealtimeRuntime: 'number', CpusetCpus: 'string', CpusetMems: 'string', Devices: 'array', DeviceCgroupRules: 'strings',
  KernelMemory: 'number', MemoryReservation: 'number', MemorySwap: 'number', MemorySwappiness: 'number',
  OomKillDisable: 'bool', PidsLimit: 'number', Ulimits: 'array', Init: 'bool', MaskedPaths: 'strings',
  ReadonlyPaths: 'strings', Mounts: 'array', ConsoleSize: 'array',
};

const GO_TYPE: Record<Kind, string> = {
  string: 'string', number: 'int64', bool: 'bool', strings: 'string', object: 'struct', map: 'string', array: 'slice',
};

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;
}

function refuse(v: unknown, field: string, kind: Kind): never {
  throw new InvalidParameter(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type ${GO_TYPE[kind]}`);
}

function check(obj: Record<string, unknown>, table: Record<string, Kind>, prefix: string): void {
  for (const [key, kind] of Object.entries(table)) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const field = `${prefix}.${key}`;
    switch (kind) {
      case 'string': if (typeof v !== 'string') refuse(v, field, kind); break;
      case 'bool': if (typeof v !== 'boolean') refuse(v, field, kind); break;
      case 'number':
        if (typeof v !== 'number') refuse(v, field, kind);
        if (!Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) {
          throw new InvalidParameter(`json: cannot unmarshal number ${v} into Go struct field ${field} of type int64`);
        }
        break;
      case 'strings':
        // Go accepts a string where a strslice is expected (Cmd, Entrypoint, Shell).
        if (typeof v === 'string' && ['Cmd', 'Entrypoint', 'Shell'].includes(key)) break;
        if (!Array.isArray(v)) refuse(v, field, kind);
        for (const x of v as unknown[]) if (typeof x !== 'string') refuse(x, field, kind);
        break;
      case 'map':
        if (typeof v !== 'object' || Array.isArray(v)) refuse(v, field, 'object');
        for (const x of Object.values(v as object)) if (typeof x !== 'string') refuse(x, field, kind);
        break;
      case 'object': if (typeof v !== 'object' || Array.isArray(v)) refuse(v, field, kind); break;
      case 'array': if (!Array.isArray(v)) refuse(v, field, kind); break;
    }
  }
}

/** Checks a create body (Config with HostConfig and NetworkingConfig inside). */
export function checkCreateBody(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidParameter(`json: cannot unmarshal ${jsonType(body)} into Go value of type container.Config`);
  }
  const b = body as Record<string, unknown>;
  check(b, CONFIG, 'Config');
  if (b.HostConfig) checkHostConfig(b.HostConfig);
}

/** Checks a HostConfig (create's, or an update's body). */
export function checkHostConfig(hc: unknown): void {
  if (typeof hc !== 'object' || hc === null || Array.isArray(hc)) {
    throw new InvalidParameter(`json: cannot unmarshal ${jsonType(hc)} into Go value of type container.HostConfig`);
  }
  check(hc as Record<string, unknown>, HOST_CONFIG, 'HostConfig');
  const h = hc as Record<string, unknown>;
  const policy = h.RestartPolicy as Record<string, unknown> | undefined;
  if (policy) check(policy, { Name: 'string', MaximumRetryCount: 'number' }, 'RestartPolicy');
  const log = h.LogConfig as Record<string, unknown> | undefined;
  if (log) check(log, { Type: 'string', Config: 'map' }, 'LogConfig');
  for (const u of (h.Ulimits as unknown[] | undefined) ?? []) {
    if (typeof u !== 'object' || u === null) refuse(u, 'HostConfig.Ulimits', 'object');
    check(u as Record<string, unknown>, { Name: 'string', Soft: 'number', Hard: 'number' }, 'Ulimit');
  }
  for (const dv of (h.Devices as unknown[] | undefined) ?? []) {
    if (typeof dv !== 'object' || dv === null) refuse(dv, 'HostConfig.Devices', 'object');
    check(dv as Record<string, unknown>, { PathOnHost: 'string', PathInContainer: 'string', CgroupPermissions: 'string' }, 'DeviceMapping');
  }
  for (const [port, bindings] of Object.entries((h.PortBindings as Record<string, unknown> | undefined) ?? {})) {
    if (bindings === null) continue;
    if (!Array.isArray(bindings)) refuse(bindings, `HostConfig.PortBindings[${port}]`, 'array');
    for (const pb of bindings) {
      if (typeof pb !== 'object' || pb === null) refuse(pb, 'HostConfig.PortBindings', 'object');
      check(pb as Record<string, unknown>, { HostIp: 'string', HostPort: 'string' }, 'PortBinding');
    }
  }
}
