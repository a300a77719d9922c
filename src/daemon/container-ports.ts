import { hostname as hostHostname } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import type { Container } from '../container/container.js';
import type { LogSink, LogSource, MountProvider, NetworkProvider, SpecBuilder } from '../container/ports.js';
import type { Ulimit } from '../config/config.js';
import { buildSpec } from '../container/spec/index.js';
import { loadProfile } from '../container/spec/seccomp.js';
import type { SeccompProfile } from '../container/spec/seccomp.js';
import { InvalidParameter, Conflict } from '../lib/errors.js';
import type { NetworkSettings } from '../types/container.js';
import { JsonFileLogger, validateLogOpts, readLogBatches, assertReadable } from '../logger/index.js';

/**
 * Adapters from the container service's ports to the spec builder, the log drivers and (until
 * their subsystems land) networks and mounts: the only place that knows both shapes.
 */
export function specBuilder(opts: {
  initPath: string; init: boolean; defaultUlimits: Record<string, Ulimit>; cgroupParent: string;
  seccompProfile: string; noNewPrivileges: boolean;
}): SpecBuilder {
  let profile: Promise<SeccompProfile | undefined> | undefined;
  const daemonProfile = () => (profile ??= opts.seccompProfile && opts.seccompProfile !== 'unconfined'
    ? loadProfile(opts.seccompProfile) : Promise.resolve(undefined));
  return {
    build: async (c: Container, rootfs: string, extra) => {
      const hostConfig = opts.seccompProfile === 'unconfined'
        ? { ...c.HostConfig, SecurityOpt: ['seccomp=unconfined', ...(c.HostConfig.SecurityOpt ?? [])] }
        : c.HostConfig;
      const seccompProfile = await daemonProfile();
      const spec = await buildSpec({
        id: c.ID, rootfs, config: c.Config, hostConfig,
        files: { hosts: c.HostsPath, hostname: c.HostnamePath, resolvConf: c.ResolvConfPath },
        initPath: opts.initPath, daemonInit: opts.init,
        cgroupsPath: `${c.HostConfig.CgroupParent || opts.cgroupParent || '/berth'}/${c.ID}`,
        defaultUlimits: Object.values(opts.defaultUlimits),
        mounts: extra.mounts,
        ...(extra.netnsPath ? { netnsPath: extra.netnsPath } : {}),
        ...(seccompProfile ? { seccompProfile } : {}),
      });
      if (opts.noNewPrivileges) spec.process.noNewPrivileges = true;
      return spec;
    },
  };
}

export function logDrivers(): LogSink & LogSource {
  return {
    validate: (driver, o) => validateLogOpts(driver, o),
    open: async (c) => {
      const type = c.HostConfig.LogConfig?.Type ?? 'json-file';
      if (type === 'none') return { logChunk: async () => {}, close: async () => {} };
      return JsonFileLogger.open(c.LogPath, c.HostConfig.LogConfig?.Config ?? {},
        { id: c.ID, name: c.Name, imageId: c.Image, imageName: c.Config.Image ?? '', labels: c.Config.Labels ?? {}, env: c.Config.Env ?? [], daemonName: 'berth' });
    },
    read: (c, o) => {
      assertReadable(c.HostConfig.LogConfig?.Type ?? 'json-file');
      return readLogBatches(c.LogPath, {
      follow: o.follow, tail: o.tail, stdout: o.stdout, stderr: o.stderr, timestamps: o.timestamps,
      ...(o.since !== undefined ? { since: o.since } : {}), ...(o.until !== undefined ? { until: o.until } : {}),
      signal: o.signal ?? new AbortController().signal,
      }, o.alive ?? (() => false));
    },
  };
}

/** Until volume/ lands: containers get no volumes, and asking for one is refused, not ignored. */
export function noMounts(): MountProvider {
  return {
    create: async (c) => {
      const hc = c.HostConfig;
      if (hc.Binds?.length || hc.Mounts?.length || Object.keys(hc.Tmpfs ?? {}).length || hc.VolumesFrom?.length) {
        throw new InvalidParameter('volumes and mounts are not supported by this berthd yet');
      }
      c.MountPoints = {};
      return [];
    },
    setup: async () => [],
    teardown: async () => {},
    remove: async () => {},
    view: () => [],
  };
}

const HOSTS = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

export function emptyNetworkSettings(): NetworkSettings {
  return {
    Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: {}, SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '',
    Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '',
    MacAddress: '', Networks: {},
  };
}

/**
 * Until network/ lands: `none` and `host`, `container:<id>`, and the default network treated
 * as `none` (a loopback-only namespace).
 */
export function basicNetworks(lookup: (ref: string) => Container): NetworkProvider {
  const peer = (c: Container): Container | undefined => {
    const mode = c.HostConfig.NetworkMode ?? '';
    return mode.startsWith('container:') ? lookup(mode.slice(10)) : undefined;
  };
  return {
    create: async (c) => {
      const mode = c.HostConfig.NetworkMode || 'default';
      if (mode.startsWith('container:')) {
        const other = lookup(mode.slice(10));
        if (other.ID === c.ID) throw new InvalidParameter('cannot join own network');
      } else if (!['default', 'bridge', 'none', 'host'].includes(mode)) {
        throw new InvalidParameter(`network ${mode} not found`);
      }
      const ns = emptyNetworkSettings();
      if (!mode.startsWith('container:')) ns.Networks[mode === 'default' ? 'bridge' : mode] = { NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '' };
      c.NetworkSettings = ns;
      return [];
    },
    setup: async (c) => {
      const other = peer(c);
      if (other) {
        if (!other.State.Running) throw new Conflict(`cannot join network of a non running container: ${other.ID}`);
        for (const [from, to] of [[other.HostsPath, c.HostsPath], [other.ResolvConfPath, c.ResolvConfPath], [other.HostnamePath, c.HostnamePath]] as const) {
          await writeFile(to, await readFile(from));
        }
        return { netnsPath: `/proc/${other.State.Pid}/ns/net` };
      }
      const host = c.HostConfig.NetworkMode === 'host';
      const hosts = host ? await readFile('/etc/hosts', 'utf8').catch(() => HOSTS.join('\n') + '\n') : HOSTS.join('\n') + '\n';
      await writeFile(c.HostsPath, hosts);
      await writeFile(c.HostnamePath, `${host ? hostHostname() : c.Config.Hostname}\n`);
      await writeFile(c.ResolvConfPath, await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
      return {};
    },
    teardown: async () => {},
    remove: async () => {},
    view: (c) => c.NetworkSettings ?? emptyNetworkSettings(),
  };
}
