import type { ContainerConfig, ContainerState, HostConfig, MountPoint, NetworkSettings } from '../types/container.js';

/**
 * A container as Berth keeps it: what `config.v2.json` and `hostconfig.json` hold under
 * `<data-root>/containers/<id>/`, in dockerd's field names. The live parts (the running
 * process's streams, waiters) live beside it in the service, never on disk.
 */
export interface Container {
  ID: string;
  /** With the leading slash, as dockerd stores it. */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  /** Image ID (sha256:...). */
  Image: string;
  Driver: string;
  RestartCount: number;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  LogPath: string;
  HasBeenStartedBefore: boolean;
  HasBeenManuallyStopped: boolean;
  /** Keyed by destination inside the container; filled by the mount provider at create. */
  MountPoints?: Record<string, MountPoint>;
  /** Filled by the network provider; absent on containers created before networking. */
  NetworkSettings?: NetworkSettings;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function newState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
    Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}

/** `Up 3 seconds`, `Exited (0) 2 minutes ago`: the Status column of `docker ps`. */
export function describeState(s: ContainerState, now = Date.now()): string {
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const health = !s.Health || s.Health.Status === 'none' ? '' : s.Health.Status === 'starting' ? ' (health: starting)' : ` (${s.Health.Status})`;
    return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${s.Paused ? ' (Paused)' : health}`;
  }
  if (s.Status === 'created') return 'Created';
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Status === 'dead') return 'Dead';
  if (Date.parse(s.FinishedAt) <= 0) return '';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}
