import type { ContainerConfig } from '../types/container.js';

/** Fills a container's config from its image's, as dockerd's merge does. */
export function mergeConfig(user: ContainerConfig, image: ContainerConfig): ContainerConfig {
  const c: ContainerConfig = { ...user };
  if (!c.User) c.User = image.User ?? '';
  if (image.ExposedPorts) c.ExposedPorts = { ...image.ExposedPorts, ...(c.ExposedPorts ?? {}) };
  const env = [...(image.Env ?? [])];
  for (const e of c.Env ?? []) {
    const key = e.split('=')[0];
    const i = env.findIndex((x) => x.split('=')[0] === key);
    if (i >= 0) env[i] = e; else env.push(e);
  }
  c.Env = env;
  if (image.Labels) c.Labels = { ...image.Labels, ...(c.Labels ?? {}) };
  if (!c.Entrypoint || c.Entrypoint.length === 0) {
    if (!c.Cmd || c.Cmd.length === 0) c.Cmd = image.Cmd ?? null;
    if (c.Entrypoint == null) c.Entrypoint = image.Entrypoint ?? null;
  }
  if (!c.WorkingDir) c.WorkingDir = image.WorkingDir ?? '';
  if (image.Volumes) c.Volumes = { ...image.Volumes, ...(c.Volumes ?? {}) };
  if (!c.StopSignal && image.StopSignal) c.StopSignal = image.StopSignal;
  if (image.Healthcheck) {
    if (!c.Healthcheck) c.Healthcheck = image.Healthcheck;
    else {
      const h = { ...c.Healthcheck };
      if (!h.Test || h.Test.length === 0) h.Test = image.Healthcheck.Test ?? null;
      if (!h.Interval) h.Interval = image.Healthcheck.Interval ?? 0;
      if (!h.Timeout) h.Timeout = image.Healthcheck.Timeout ?? 0;
      if (!h.StartPeriod) h.StartPeriod = image.Healthcheck.StartPeriod ?? 0;
      if (!h.Retries) h.Retries = image.Healthcheck.Retries ?? 0;
      c.Healthcheck = h;
    }
  }
  if (!c.OnBuild || c.OnBuild.length === 0) c.OnBuild = image.OnBuild ?? null;
  return c;
}
