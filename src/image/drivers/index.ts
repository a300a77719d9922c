import { access, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../../lib/log.js';
import { ConfigError } from '../../lib/errors.js';
import type { GraphDriver } from './driver.js';
import { Overlay2 } from './overlay2.js';
import { Vfs } from './vfs.js';

export type { GraphDriver } from './driver.js';

const DRIVERS = ['overlay2', 'vfs'] as const;

/**
 * Picks the graph driver as dockerd does: one already holding layers under the data root
 * wins; a `--storage-driver` that disagrees with it is refused; otherwise the one asked for,
 * or overlay2 where the kernel and the backing filesystem support it, else vfs.
 */
export async function openDriver(dataRoot: string, wanted: string, log: Log): Promise<GraphDriver> {
  if (wanted && !(DRIVERS as readonly string[]).includes(wanted)) {
    throw new ConfigError(`error initializing graphdriver: driver not supported: ${wanted}`);
  }
  // As dockerd's scanPriorDrivers: a driver whose home under the data root has content was
  // chosen before, and is kept.
  const prior: string[] = [];
  for (const d of DRIVERS) {
    const entries = await readdir(join(dataRoot, d)).catch(() => [] as string[]);
    if (entries.some((e) => !e.startsWith('probe-'))) prior.push(d);
  }
  if (prior.length > 1 && !wanted) {
    throw new ConfigError(`${dataRoot} contains several valid graphdrivers: ${prior.join(', ')}; cleanup or explicitly choose storage driver (-s <DRIVER>)`);
  }
  if (wanted && prior.length > 0 && !prior.includes(wanted)) {
    throw new ConfigError(`error initializing graphdriver: ${dataRoot} already holds images of the ${prior[0]} storage driver; ` +
      `--storage-driver ${wanted} would hide them: start with --storage-driver ${prior[0]}, or use another --data-root`);
  }
  const name = wanted || prior[0] || ((await Overlay2.supported(await home(dataRoot, 'overlay2'))) ? 'overlay2' : 'vfs');
  if (name === 'overlay2') {
    const h = await home(dataRoot, 'overlay2');
    if (wanted === 'overlay2' && !(await Overlay2.supported(h))) {
      throw new ConfigError('error initializing graphdriver: driver not supported: overlay2 (the kernel or the backing filesystem cannot mount overlay here)');
    }
    const d = new Overlay2(h);
    await d.init();
    log.info({ driver: 'overlay2' }, 'graph driver');
    return d;
  }
  const d = new Vfs(await home(dataRoot, 'vfs'));
  await d.init();
  log.info({ driver: 'vfs' }, 'graph driver');
  return d;
}

async function home(dataRoot: string, name: string): Promise<string> {
  const h = join(dataRoot, name);
  await access(h).catch(() => mkdir(h, { recursive: true, mode: 0o710 }));
  return h;
}
