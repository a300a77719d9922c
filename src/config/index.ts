/**
 * The daemon's configuration: dockerd-style flags and daemon.json, merged and validated into a
 * Config that the rest of berthd reads without checking again.
 */
export type { AddressPool, Config, LogLevel, RuntimeSpec, TlsConfig, Ulimit } from './config.js';
export { defaultConfigFile, loadConfig, type LoadOptions, type LoadResult } from './load.js';
export { defaultHost, defaultSocket } from './hosts.js';
export { checkKernel, checkRoot } from './system.js';
export { usage } from './usage.js';
