/**
 * Container log drivers, as dockerd 20.10's daemon/logger: json-file (also used for "local")
 * and none; writing a container's output and reading it back for `docker logs`.
 */
export { JsonFileLogger, copyStream, type ChunkSink } from './json-file.js';
export { NoneLogger, assertReadable } from './none.js';
export { LineSplitter, MAX_LINE, type LogMessage } from './split.js';
export { validateLogOpts, parseJsonFileOpts, fromHumanSize, DRIVERS, type JsonFileOptions } from './options.js';
export { readLogs, readLogBatches, formatForClient, type LogLine, type ReadOptions } from './read.js';
export { formatTime, parseTime, NanoClock } from './time.js';
export type { LogInfo } from './attrs.js';
