/**
 * Networking for one host: the predefined networks (bridge, host, none), user-defined bridge
 * networks with IPAM, iptables isolation and an embedded DNS server, container sandboxes and
 * published ports. See controller.ts.
 */
export { NetworkController, emptyNetworkSettings } from './controller.js';
export type { NetworkCreate, NetworkResource, Networks, NetworksOptions } from './types.js';
