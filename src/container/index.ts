import { join } from 'node:path';
import { ContainerStore } from './store.js';
import { ContainerService, type ContainerDeps } from './service.js';

export { ContainerService } from './service.js';
export type { Container } from './container.js';

/** Everything the service needs, but the store, which is opened here. */
export type ContainersOptions = Omit<ContainerDeps, 'store'> & { dataRoot: string };

/** The containers subsystem's front door: the store under `<data-root>/containers` and the service. */
export async function openContainers(opts: ContainersOptions): Promise<ContainerService> {
  const store = await ContainerStore.open(join(opts.dataRoot, 'containers'), opts.log);
  const { dataRoot: _root, ...deps } = opts;
  return new ContainerService({ ...deps, store });
}
