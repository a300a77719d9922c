/**
 * The daemon's configuration, after flags and daemon.json are merged and validated. Field
 * names follow dockerd's daemon.json keys in camelCase; every value here is already checked,
 * so later subsystems read it without validating again.
 */
export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface AddressPool {
  base: string; // CIDR
  size: number; // prefix length of each network carved from base
}

export interface RuntimeSpec {
  path: string;
  runtimeArgs?: string[];
}

export interface TlsConfig {
  tls: boolean;
  tlsVerify: boolean;
  tlsCaCert: string;
  tlsCert: string;
  tlsKey: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface Config {
  /** Listen addresses as full URLs: unix:///path or tcp://host:port (fd:// is refused). */
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  /** Address of an existing containerd; empty means berthd starts and supervises its own. */
  containerd: string;
  /** The daemon.json that was read, or would have been (a missing default file is not an error). */
  configFile: string;
  /** The effective level: 'debug' whenever debug is on, as dockerd's -D forces it. */
  logLevel: LogLevel;
  debug: boolean;
  /** Empty means: pick at first start (overlay2 where supported, else vfs). */
  storageDriver: string;
  storageOpts: string[];
  group: string;
  tls: TlsConfig;

  // networking (acted on by the networking issue)
  bridge: string;
  bip: string;
  fixedCidr: string;
  fixedCidrV6: string;
  /** 0 means: the MTU of the default route's interface, else 1500. */
  mtu: number;
  iptables: boolean;
  ip6tables: boolean;
  icc: boolean;
  ipMasq: boolean;
  ipForward: boolean;
  ipv6: boolean;
  ip: string;
  defaultGateway: string;
  defaultGatewayV6: string;
  defaultAddressPools: AddressPool[];
  userlandProxy: boolean;
  userlandProxyPath: string;
  dns: string[];
  dnsSearch: string[];
  dnsOpts: string[];

  // registries
  insecureRegistries: string[];
  registryMirrors: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  maxDownloadAttempts: number;

  // lifecycle
  liveRestore: boolean;
  /** Seconds; -1 means wait forever. */
  shutdownTimeout: number;
  defaultUlimits: Record<string, Ulimit>;
  logDriver: string;
  logOpts: Record<string, string>;
  defaultRuntime: string;
  /** Runtimes added with --add-runtime or "runtimes"; runc (and crun when found) are added by the daemon. */
  runtimes: Record<string, RuntimeSpec>;
  metricsAddr: string;
  experimental: boolean;
  labels: string[];
  /** Bytes. */
  defaultShmSize: number;
  cgroupParent: string;
  execOpts: string[];
  init: boolean;
  initPath: string;
  noNewPrivileges: boolean;
  seccompProfile: string;
  oomScoreAdjust: number;

  // Accepted because users' daemon.json files commonly carry them; kept so the daemon can act on them.
  selinuxEnabled: boolean;
  rawLogs: boolean;
  logFormat: 'text' | 'json';
  /** IPC mode of containers that do not ask for one. */
  defaultIpcMode: 'private' | 'shareable';
  /** cgroup namespace mode of containers that do not ask for one: private on cgroup v2 hosts, else host. */
  defaultCgroupnsMode: 'private' | 'host';
  /** daemon.json "features" (e.g. {"buildkit": false}). */
  features: Record<string, boolean>;

  /** Non-fatal findings of validation, logged at start and listed in `docker info`. */
  warnings: string[];
}
