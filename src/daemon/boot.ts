import { dirname, join } from 'node:path';
import type { Config } from '../config/config.js';
import type { Log } from '../lib/log.js';
import { ensureDir } from '../lib/atomic.js';
import { Supervisor } from '../runtime/containerd/supervisor.js';
import { checkProtos } from '../runtime/containerd/protos.js';
import { PidFile } from './pidfile.js';

/**
 * The first steps of start-up, kept in a module light enough to run before the rest of the
 * daemon is even loaded: validate what start-up needs, create the roots, take the locks, and
 * spawn containerd, which then boots while the other modules load.
 */
export interface Boot {
  locks: PidFile[];
  supervisor: Supervisor | undefined;
  /** Resolves once containerd was spawned (or adopted). */
  started: Promise<void> | undefined;
}

export async function boot(config: Config, log: Log): Promise<Boot> {
  for (const w of config.warnings) log.warn(w);
  checkProtos();
  await ensureDir(config.dataRoot, 0o711);
  await ensureDir(config.execRoot, 0o700);
  await ensureDir(dirname(config.pidfile), 0o755);
  const locks = await takeLocks(config);
  const supervisor = config.containerd
    ? undefined
    : new Supervisor({
      log: log.child({ module: 'containerd' }),
      root: join(config.dataRoot, 'containerd', 'daemon'),
      stateDir: join(config.execRoot, 'containerd'),
      debug: config.debug,
    });
  const started = supervisor?.start();
  // A failure surfaces where start-up awaits it; never as an unhandled rejection meanwhile.
  started?.catch(() => {});
  return { locks, supervisor, started };
}

async function takeLocks(config: Config): Promise<PidFile[]> {
  const locks: PidFile[] = [];
  try {
    locks.push(await PidFile.take(config.pidfile,
      (pid) => `pid file found, ensure berthd is not running or delete ${config.pidfile}` + (pid ? ` (held by pid ${pid})` : '')));
    for (const [what, dir] of [['exec root', config.execRoot], ['data root', config.dataRoot]] as const) {
      const path = join(dir, 'berthd.lock');
      // A pid file inside the directory already holds it.
      if (dirname(config.pidfile) === dir) continue;
      locks.push(await PidFile.take(path,
        (pid) => `${what} ${dir} is in use by another berthd (pid ${pid}); stop it, or delete ${path} if it is not running`));
    }
    return locks;
  } catch (err) {
    await Promise.all(locks.map((l) => l.release()));
    throw err;
  }
}

