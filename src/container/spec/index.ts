export { buildSpec, resourcesOf, commandOf, environmentOf, replaceOrAppendEnv, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './build.js';
export type { SpecInput } from './build.js';
export { parseSecurityOpt } from './security-opt.js';
export type { SecurityOptions } from './security-opt.js';
export { tweakCapabilities, normalizeCapabilities, DEFAULT_CAPABILITIES, ALL_CAPABILITIES } from './caps.js';
export { resolveUser, resolveInRoot } from './user.js';
export type { SeccompProfile } from './seccomp.js';
export type * from './types.js';
