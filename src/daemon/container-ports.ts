import type { Container } from '../container/container.js';
import type { LogSink, LogSource, MountProvider, SpecBuilder } from '../container/ports.js';
import type { Ulimit } from '../config/config.js';
import { buildSpec } from '../container/spec/index.js';
import { loadProfile } from '../container/spec/seccomp.js';
import type { SeccompProfile } from '../container/spec/seccomp.js';
import { Mounts, type MountsDeps } from '../volume/index.js';
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
        ...(extra.env ? { linkEnv: extra.env } : {}),
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

/** Volumes and mounts (volume/): binds, volumes, tmpfs and --volumes-from for the container service. */
export function volumeMounts(deps: MountsDeps): MountProvider {
  return new Mounts(deps);
}
