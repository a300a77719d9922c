import { InvalidParameter } from '../lib/errors.js';

/**
 * Log driver options (`--log-opt`), checked as dockerd checks them: at create, only the names
 * (logger.ValidateLogOpts and the driver's ValidateLogOpt); the values when the driver is opened
 * at start (the driver's New), where a bad value fails the start.
 */

/** Options every driver takes, handled by dockerd itself rather than the driver. */
const BUILTIN = new Set(['mode', 'max-buffer-size']);

const DRIVER_KEYS: Record<string, ReadonlySet<string>> = {
  'json-file': new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']),
  // Berth stores "local" logs in the json-file format; it takes local's options.
  local: new Set(['max-file', 'max-size', 'compress']),
};

/** The drivers Berth has: json-file, local (stored as json-file) and none. */
export const DRIVERS: readonly string[] = ['json-file', 'local', 'none'];

/** dockerd's logger.ValidateLogOpts: throws InvalidParameter with dockerd's message. */
export function validateLogOpts(driver: string, opts: Record<string, string>): void {
  if (driver === 'none') return;
  const mode = opts['mode'] ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') {
    throw new InvalidParameter(`logger: logging mode not supported: ${mode}`);
  }
  if (opts['max-buffer-size'] !== undefined) {
    if (mode !== 'non-blocking') {
      throw new InvalidParameter(`logger: max-buffer-size option is only supported with 'mode=non-blocking'`);
    }
    try {
      ramInBytes(opts['max-buffer-size']);
    } catch (err) {
      throw new InvalidParameter(`error parsing option max-buffer-size: ${(err as Error).message}`, { cause: err });
    }
  }
  const keys = DRIVER_KEYS[driver];
  if (!keys) throw new InvalidParameter(`logger: no log driver named '${driver}' is registered`);
  for (const key of Object.keys(opts)) {
    if (BUILTIN.has(key) || keys.has(key)) continue;
    throw new InvalidParameter(driver === 'local'
      ? `unknown log opt '${key}' for log driver local`
      : `unknown log opt '${key}' for json-file log driver`);
  }
}

/** The json-file driver's settings, read from its options. */
export interface JsonFileOptions {
  /** Bytes after which the file is rotated; -1 for never. */
  maxSize: number;
  /** How many files to keep, the current one included. */
  maxFile: number;
  /** Whether rotated files are gzipped. */
  compress: boolean;
}

/** jsonfilelog.New's reading of max-size, max-file and compress, with its messages. */
export function parseJsonFileOpts(opts: Record<string, string>): JsonFileOptions {
  let maxSize = -1;
  if (opts['max-size'] !== undefined) {
    maxSize = fromHumanSize(opts['max-size']);
    if (maxSize <= 0) throw new InvalidParameter('max-size must be a positive number');
  }
  let maxFile = 1;
  if (opts['max-file'] !== undefined) {
    maxFile = atoi(opts['max-file']);
    if (maxFile < 1) throw new InvalidParameter('max-file cannot be less than 1');
  }
  let compress = false;
  if (opts['compress'] !== undefined) {
    compress = parseBool(opts['compress']);
    if (compress && (maxFile === 1 || maxSize === -1)) {
      throw new InvalidParameter('compress cannot be true when max-file is less than 2 or max-size is not set');
    }
  }
  return { maxSize, maxFile, compress };
}

const SIZE = /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;

/** go-units FromHumanSize: decimal units, "10m" is 10,000,000 bytes. */
export function fromHumanSize(size: string): number {
  return parseSize(size, 1000);
}

/** go-units RAMInBytes: binary units, "10m" is 10 MiB. */
export function ramInBytes(size: string): number {
  return parseSize(size, 1024);
}

function parseSize(size: string, base: number): number {
  const m = SIZE.exec(size);
  if (!m) throw new InvalidParameter(`invalid size: '${size}'`);
  const num = m[1]!;
  if (!/^\d+(\.\d+)?$/.test(num)) throw new InvalidParameter(`strconv.ParseFloat: parsing "${num}": invalid syntax`);
  const power = m[3] ? 'kmgtp'.indexOf(m[3].toLowerCase()) + 1 : 0;
  return Math.trunc(Number(num) * base ** power);
}

function atoi(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new InvalidParameter(`strconv.Atoi: parsing "${value}": invalid syntax`);
  return Number(value);
}

function parseBool(value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new InvalidParameter(`strconv.ParseBool: parsing "${value}": invalid syntax`);
}
