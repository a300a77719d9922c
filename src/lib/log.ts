import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * The daemon's structured log: one JSON object a line on stderr, written synchronously so
 * that the last lines before a crash are not lost in a buffer.
 */
export type Log = Logger;

export function createLog(level: LevelWithSilent = 'info'): Log {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for unit tests of subsystems. */
export function silentLog(): Log {
  return pino({ level: 'silent' });
}
