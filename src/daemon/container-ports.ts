import type { Container } from '../container/container.js';
import type { LogSink, LogSource, SpecBuilder } from '../container/ports.js';
import type { Ulimit } from '../config/config.js';
import { buildSpec } from '../container/oci.js';
import { JsonFileLogger, validateLogOpts, readLogs, assertReadable } from '../logger/index.js';

/**
 * Adapters from the container service's ports to the spec builder and the log drivers:
 * the only place that knows both shapes.
 */
export function specBuilder(opts: { initPath: string; defaultUlimits: Record<string, Ulimit>; cgroupParent: string }): SpecBuilder {
  return {
    build: (c: Container, rootfs: string) => buildSpec(c, rootfs, {
      initPath: opts.initPath, cgroupParent: opts.cgroupParent, defaultUlimits: Object.values(opts.defaultUlimits),
    }),
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
      return readLogs(c.LogPath, {
      follow: o.follow, tail: o.tail, stdout: o.stdout, stderr: o.stderr, timestamps: o.timestamps,
      ...(o.since !== undefined ? { since: o.since } : {}), ...(o.until !== undefined ? { until: o.until } : {}),
      signal: o.signal ?? new AbortController().signal,
      }, o.alive ?? (() => false));
    },
  };
}
