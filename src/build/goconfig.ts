/**
 * A container config in the shape Go's encoding/json gives dockerd's container.Config: every
 * field present in the struct's order (the omitempty ones only when set), map keys sorted.
 * Image configs written by the builder use it, so they read as dockerd's do.
 */
import type { ContainerConfig, HealthConfig } from '../types/image.js';

const sorted = <T>(m: Record<string, T> | null | undefined): Record<string, T> | null => {
  if (!m) return null;
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
};

function health(h: HealthConfig): HealthConfig {
  const out: HealthConfig = {};
  if (h.Test?.length) out.Test = h.Test;
  if (h.Interval) out.Interval = h.Interval;
  if (h.Timeout) out.Timeout = h.Timeout;
  if (h.StartPeriod) out.StartPeriod = h.StartPeriod;
  if (h.Retries) out.Retries = h.Retries;
  return out;
}

export function goConfig(c: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = {
    Hostname: c.Hostname ?? '',
    Domainname: c.Domainname ?? '',
    User: c.User ?? '',
    AttachStdin: !!c.AttachStdin,
    AttachStdout: !!c.AttachStdout,
    AttachStderr: !!c.AttachStderr,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) out.ExposedPorts = sorted(c.ExposedPorts);
  out.Tty = !!c.Tty;
  out.OpenStdin = !!c.OpenStdin;
  out.StdinOnce = !!c.StdinOnce;
  out.Env = c.Env ?? null;
  out.Cmd = c.Cmd ?? null;
  if (c.Healthcheck) out.Healthcheck = health(c.Healthcheck);
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  out.Image = c.Image ?? '';
  out.Volumes = sorted(c.Volumes);
  out.WorkingDir = c.WorkingDir ?? '';
  out.Entrypoint = c.Entrypoint ?? null;
  if (c.NetworkDisabled) out.NetworkDisabled = true;
  if (c.MacAddress) out.MacAddress = c.MacAddress;
  out.OnBuild = c.OnBuild ?? null;
  out.Labels = sorted(c.Labels);
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.StopTimeout !== undefined && c.StopTimeout !== null) out.StopTimeout = c.StopTimeout;
  if (c.Shell?.length) out.Shell = c.Shell;
  return out;
}
