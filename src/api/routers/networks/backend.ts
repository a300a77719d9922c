import type { Networks } from '../../../network/index.js';

/** What the /networks routes need from the network subsystem: its API side. */
export type NetworkBackend = Pick<Networks, 'list' | 'inspect' | 'createNetwork' | 'removeNetwork' | 'prune' | 'connect' | 'disconnect'>;
