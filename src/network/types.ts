import type { Container } from '../container/container.js';
import type { NetworkProvider } from '../container/ports.js';
import type { EndpointSettings } from '../types/container.js';

/** A network as GET /networks/{id} shows it. */
export interface NetworkResource {
  Name: string; Id: string; Created: string; Scope: string; Driver: string; EnableIPv6: boolean;
  IPAM: {
    Driver: string; Options: Record<string, string> | null;
    Config: Array<{ Subnet: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }>;
  };
  Internal: boolean; Attachable: boolean; Ingress: boolean; ConfigFrom: { Network: string }; ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>; Labels: Record<string, string>;
}

/** The body of POST /networks/create. */
export interface NetworkCreate {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string>; Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }> };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

export interface NetworksOptions {
  dataRoot: string;
  execRoot: string;
  /** `-b`: the default bridge's name (berth0 when empty). */
  bridge: string;
  bip: string;
  mtu: number;
  iptables: boolean;
  ipMasq: boolean;
  icc?: boolean;
  /** `--ip-forward` (default true): berthd turns on net.ipv4.ip_forward. */
  ipForward?: boolean;
  /** `--default-gateway`: containers on the default bridge route through this address. */
  defaultGateway?: string;
  /** `--default-gateway-v6`: the same for IPv6 (inside `--fixed-cidr-v6`). */
  defaultGatewayV6?: string;
  /** `--userland-proxy`: true (the default) serves published ports on loopback from berthd. */
  userlandProxy?: boolean;
  /** `--fixed-cidr`: the default bridge hands out addresses from this range only. */
  fixedCidr?: string;
  /** `--ipv6`: the default bridge has IPv6 too, on the `--fixed-cidr-v6` subnet. */
  ipv6?: boolean;
  /** `--fixed-cidr-v6`: the default bridge's IPv6 subnet (needed with `--ipv6`: there is no default IPv6 pool). */
  fixedCidrV6?: string;
  /** `--ip6tables`: IPv6 subnets get the isolation, masquerade and DNAT rules in ip6tables too. */
  ip6tables?: boolean;
  /** `--ip`: the host address published ports bind to when none is given. */
  hostIp?: string;
  /** `--default-address-pool`; dockerd's defaults when empty. */
  defaultAddressPools?: Array<{ base: string; size: number }>;
  dns: string[];
  dnsSearch: string[];
  dnsOpts: string[];
  lookup: (ref: string) => Container;
  /** Writes a container's record after connect or disconnect changed its networks. */
  persist?: (c: Container) => Promise<void>;
  /** Network events: create, connect, disconnect, destroy. */
  event?: (action: string, id: string, attributes: Record<string, string>) => void;
  log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/** The network subsystem's front door: the container service's provider and the routes' backend. */
export interface Networks extends NetworkProvider {
  list(): Promise<NetworkResource[]>;
  /** By full ID, name or unique ID prefix, as dockerd's FindNetwork. */
  inspect(ref: string): Promise<NetworkResource>;
  createNetwork(body: NetworkCreate): Promise<{ Id: string; Warning: string }>;
  removeNetwork(ref: string): Promise<void>;
  /** Removes the unused user-defined networks for which `keep` holds; returns their names. */
  prune(keep: (n: NetworkResource) => boolean): Promise<string[]>;
  connect(network: string, container: string, endpoint: EndpointSettings | undefined): Promise<void>;
  disconnect(network: string, container: string, force: boolean): Promise<void>;
  close(): Promise<void>;
}
