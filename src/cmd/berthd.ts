import { join } from 'node:path';
import { renameSync } from 'node:fs';
import { loadConfig, checkRoot, checkKernel } from '../config/index.js';
import { createLog } from '../lib/log.js';
import { ConfigError, errorMessage } from '../lib/errors.js';
import type { Daemon } from '../daemon/daemon.js';
import { boot } from '../daemon/boot.js';
import { BERTH_VERSION, ENGINE_VERSION } from '../version.js';

/**
 * berthd's entry point: parse and validate the configuration, start the daemon, and turn
 * signals into the shutdown sequence. Configuration errors print one line and exit 1.
 */
async function main(argv: string[]): Promise<number> {
  let loaded;
  try {
    loaded = await loadConfig(argv);
  } catch (err) {
    process.stderr.write(`berthd: ${errorMessage(err)}\n`);
    if (err instanceof ConfigError && /unknown (flag|shorthand)/.test(err.message)) {
      process.stderr.write("See 'berthd --help'.\n");
    }
    return 1;
  }
  if ('help' in loaded) {
    process.stdout.write(loaded.help);
    return 0;
  }
  if ('version' in loaded) {
    process.stdout.write(`Berth version ${BERTH_VERSION} (Docker Engine API compatible ${ENGINE_VERSION})\n`);
    return 0;
  }
  const { config } = loaded;
  try {
    checkRoot();
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    return 1;
  }
  const log = createLog(config.debug ? 'debug' : config.logLevel);
  const kernelWarning = checkKernel();
  if (kernelWarning) {
    log.warn(kernelWarning);
    config.warnings.push(kernelWarning);
  }

  // Signals are handled from before the sockets listen: a signal that arrives while the
  // daemon starts must not find Node's default action (which ends the process at once).
  process.on('SIGUSR1', () => {
    const file = join(config.execRoot, `berthd-report-${Date.now()}.json`);
    // Written aside and renamed, so a reader never sees half a report.
    process.report.writeReport(`${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    log.info({ file }, 'wrote diagnostic report');
  });
  let daemon: Daemon | undefined;
  let shuttingDown = false;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => { resolveExit = r; });
  const shutdown = () => {
    daemon!.shutdown().then(() => resolveExit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      resolveExit(1);
    });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: forcing exit');
      // Do not wait for containerd any more, but do not leave it behind either.
      const pid = daemon?.supervisor?.pid;
      daemon?.supervisor?.detach();
      if (pid) try { process.kill(pid, 'SIGTERM'); } catch { /* gone already */ }
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    shuttingDown = true;
    log.info({ signal }, 'received signal');
    // During start-up the shutdown runs as soon as the daemon is up.
    if (daemon) shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    const early = await boot(config, log);
    // The rest of the daemon loads while containerd boots.
    const { Daemon } = await import('../daemon/daemon.js');
    // A failing start stops that containerd and lets go of the locks itself.
    daemon = await Daemon.start(config, log, early);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`berthd: ${err.message}\n`);
    } else {
      log.fatal({ err }, 'failed to start daemon');
    }
    return 1;
  }
  if (shuttingDown) shutdown();
  return exited;
}

// A request must never take the daemon down: log what escaped and keep serving.
process.on('uncaughtException', (err) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'uncaught exception', err: err.stack ?? String(err) })}\n`);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'unhandled rejection', err: (err as Error)?.stack ?? String(err) })}\n`);
});

main(process.argv.slice(2)).then((code) => process.exit(code));
