import type { NetworkCreate, NetworkResource } from '../../../network/index.js';
import type { EndpointSettings } from '../../../types/container.js';

/** What the /networks routes need from the network subsystem. */
export interface NetworkBackend {
  list(): Promise<NetworkResource[]>;
  inspect(ref: string): Promise<NetworkResource>;
  createNetwork(body: NetworkCreate): Promise<{ Id: string; Warning: string }>;
  removeNetwork(ref: string): Promise<void>;
  prune(keep: (n: NetworkResource) => boolean): Promise<string[]>;
  connect(network: string, container: string, endpoint: EndpointSettings | undefined): Promise<void>;
  disconnect(network: string, container: string, force: boolean): Promise<void>;
}
