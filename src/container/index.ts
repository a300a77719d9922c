import { join } from 'node:path';
import type { Log } from '../lib/log.js';
import type { Runtime } from '../runtime/runtime.js';
import { ContainerStore } from './store.js';
import { ContainerService, type EventSink, type ImageSource, type LayerSource } from './service.js';
import type { LogSink, LogSource, SpecBuilder } from './ports.js';

export { ContainerService } from './service.js';
export type { Container } from './container.js';

export interface ContainersOptions {
  dataRoot: string;
  images: ImageSource;
  layers: LayerSource;
  runtime: Runtime;
  events: EventSink;
  spec: SpecBuilder;
  logs: LogSink & LogSource;
  log: Log;
  defaults: { runtime: string; logDriver: string; logOpts: Record<string, string>; initPath: string };
}

/** The containers subsystem's front door: the store under `<data-root>/containers` and the service. */
export async function openContainers(opts: ContainersOptions): Promise<ContainerService> {
  const store = await ContainerStore.open(join(opts.dataRoot, 'containers'), opts.log);
  return new ContainerService({ ...opts, store });
}
