export { Volumes, type Volume, type VolumesDeps, type PluginFinder } from './store.js';
export { Mounts, type MountsDeps } from './mounts.js';
export type { Driver } from './driver.js';
export { LegacyPlugins, defaultPluginDirs, type PluginDirs } from './plugins.js';
