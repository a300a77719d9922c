import type { Info, VersionInfo } from '../../../types/system.js';
import type { EventMessage } from '../../../types/events.js';
import type { Filters } from '../../filters.js';

/** What the system routes need from the daemon. */
export interface SystemBackend {
  version(): Promise<VersionInfo>;
  info(): Promise<Info>;
  /** Buffered events in [since, until] then live ones until `until` or the signal. */
  events(opts: { since?: bigint; until?: bigint; filters: Filters; signal: AbortSignal }): AsyncIterable<EventMessage>;
  /** GET /system/df: LayersSize, Images, Containers, Volumes, BuildCache. */
  diskUsage(): Promise<object>;
  experimental: boolean;
}
