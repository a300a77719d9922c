import os from 'node:os';
import type { Config } from '../config/config.js';
import type { Info, RegistryConfig, VersionInfo, ComponentVersion } from '../types/system.js';
import { API_VERSION, MIN_API_VERSION } from '../api/version.js';
import {
  apparmorEnabled, cgroupFeatures, cgroupVersion, goArch, openFds, osRelease, sysctlOn,
  type BinaryVersion, type CgroupFeatures, type OsRelease,
} from './host.js';
import { BERTH_VERSION, ENGINE_VERSION, GIT_COMMIT } from '../version.js';

/** Versions of the programs Berth runs containers with, read from them at start-up. */
export interface Components {
  containerd?: { version: string; revision: string };
  runc?: BinaryVersion;
  crun?: BinaryVersion;
  init?: BinaryVersion;
}

export interface ContainerCounts {
  total: number;
  running: number;
  paused: number;
  stopped: number;
}

/** What the system service reads from the other subsystems, each sized to the need. */
export interface SystemDeps {
  config: Config;
  engineId: string;
  components: () => Promise<Components>;
  containers: () => ContainerCounts;
  images: () => number;
  storage: () => { driver: string; status: Array<[string, string]> };
  eventListeners: () => number;
  runtimes: () => Record<string, { path: string; runtimeArgs?: string[] }>;
  warnings: () => string[];
}

/**
 * Answers /version and /info from real figures of this host and this daemon. Host facts
 * that cannot change while the daemon runs are read once.
 */
export class SystemService {
  readonly #deps: SystemDeps;
  readonly #os: OsRelease = osRelease();
  readonly #cgroups: CgroupFeatures = cgroupFeatures();
  readonly #cgroupVersion = cgroupVersion();

  constructor(deps: SystemDeps) {
    this.#deps = deps;
  }

  async version(): Promise<VersionInfo> {
    const c = await this.#deps.components();
    const engine: ComponentVersion = {
      Name: 'Engine',
      Version: ENGINE_VERSION,
      Details: {
        ApiVersion: API_VERSION, Arch: goArch(), BuildTime: '', Experimental: String(this.#deps.config.experimental),
        GitCommit: GIT_COMMIT, GoVersion: `node ${process.version}`, KernelVersion: os.release(),
        MinAPIVersion: MIN_API_VERSION, Os: 'linux', Berth: BERTH_VERSION,
      },
    };
    const components = [engine];
    if (c.containerd) components.push({ Name: 'containerd', Version: c.containerd.version, Details: { GitCommit: c.containerd.revision } });
    if (c.runc) components.push({ Name: 'runc', Version: c.runc.version, Details: { GitCommit: c.runc.commit } });
    if (c.init) components.push({ Name: 'docker-init', Version: c.init.version, Details: { GitCommit: c.init.commit } });
    return {
      Platform: { Name: 'Berth Engine' },
      Components: components,
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: GIT_COMMIT,
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: os.release(),
      ...(this.#deps.config.experimental ? { Experimental: true } : {}),
      BuildTime: '',
    };
  }

  async info(): Promise<Info> {
    const { config } = this.#deps;
    const c = await this.#deps.components();
    const counts = this.#deps.containers();
    const storage = this.#deps.storage();
    const g = this.#cgroups;
    const security = ['name=seccomp,profile=default'];
    if (apparmorEnabled()) security.unshift('name=apparmor');
    if (this.#cgroupVersion === '2') security.push('name=cgroupns');
    const commit = (id = '') => ({ ID: id, Expected: id });
    return {
      ID: this.#deps.engineId,
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: this.#deps.images(),
      Driver: storage.driver,
      DriverStatus: storage.status,
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: g.memoryLimit,
      SwapLimit: g.swapLimit,
      KernelMemory: g.kernelMemory,
      KernelMemoryTCP: false,
      CpuCfsPeriod: g.cpuCfsPeriod,
      CpuCfsQuota: g.cpuCfsQuota,
      CPUShares: g.cpuShares,
      CPUSet: g.cpuSet,
      PidsLimit: g.pidsLimit,
      IPv4Forwarding: sysctlOn('/proc/sys/net/ipv4/ip_forward'),
      BridgeNfIptables: sysctlOn('/proc/sys/net/bridge/bridge-nf-call-iptables'),
      BridgeNfIp6tables: sysctlOn('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
      Debug: config.debug,
      NFd: openFds(),
      OomKillDisable: g.oomKillDisable,
      // Node has no goroutines; the closest honest figure is the count of live handles.
      NGoroutines: activeHandles(),
      SystemTime: rfc3339Local(new Date()),
      LoggingDriver: config.logDriver,
      CgroupDriver: 'cgroupfs',
      CgroupVersion: this.#cgroupVersion,
      NEventsListener: this.#deps.eventListeners(),
      KernelVersion: os.release(),
      OperatingSystem: this.#os.prettyName,
      OSVersion: this.#os.versionId,
      OSType: 'linux',
      Architecture: os.machine(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(config),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      GenericResources: null,
      DockerRootDir: config.dataRoot,
      HttpProxy: process.env.HTTP_PROXY ?? process.env.http_proxy ?? '',
      HttpsProxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '',
      NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
      Name: os.hostname(),
      Labels: config.labels,
      ExperimentalBuild: config.experimental,
      ServerVersion: ENGINE_VERSION,
      ClusterStore: '',
      ClusterAdvertise: '',
      Runtimes: this.#deps.runtimes(),
      DefaultRuntime: config.defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: config.liveRestore,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: commit(c.containerd?.revision),
      RuncCommit: commit(c.runc?.commit),
      InitCommit: commit(c.init?.commit),
      SecurityOptions: security,
      DefaultAddressPools: config.defaultAddressPools.map((p) => ({ Base: p.base, Size: p.size })),
      Warnings: [...this.#deps.warnings(), ...this.#cgroupWarnings()],
    };
  }

  #cgroupWarnings(): string[] {
    const w: string[] = [];
    const g = this.#cgroups;
    if (!g.memoryLimit) w.push('WARNING: No memory limit support');
    if (!g.swapLimit) w.push('WARNING: No swap limit support');
    if (!g.cpuCfsQuota) w.push('WARNING: No cpu cfs quota support');
    if (!g.cpuCfsPeriod) w.push('WARNING: No cpu cfs period support');
    if (!g.cpuShares) w.push('WARNING: No cpu shares support');
    if (!g.cpuSet) w.push('WARNING: No cpuset support');
    if (!sysctlOn('/proc/sys/net/ipv4/ip_forward')) w.push('WARNING: IPv4 forwarding is disabled');
    if (!sysctlOn('/proc/sys/net/bridge/bridge-nf-call-iptables')) w.push('WARNING: bridge-nf-call-iptables is disabled');
    if (!sysctlOn('/proc/sys/net/bridge/bridge-nf-call-ip6tables')) w.push('WARNING: bridge-nf-call-ip6tables is disabled');
    return w;
  }
}

function activeHandles(): number {
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return p._getActiveHandles?.().length ?? 0;
}

/** RFC 3339 with nanoseconds and the local offset, as Go's time.RFC3339Nano prints it. */
export function rfc3339Local(d: Date): string {
  const off = -d.getTimezoneOffset();
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${tz}`;
}

/** The registry section of /info: 127.0.0.0/8 is always insecure, as in dockerd. */
export function registryConfig(config: Config): RegistryConfig {
  const cidrs = ['127.0.0.0/8'];
  const index: RegistryConfig['IndexConfigs'] = {
    'docker.io': { Name: 'docker.io', Mirrors: config.registryMirrors, Secure: true, Official: true },
  };
  for (const r of config.insecureRegistries) {
    if (/^[0-9a-f.:]+\/\d+$/i.test(r)) {
      if (!cidrs.includes(r)) cidrs.push(r);
    } else {
      index[r] = { Name: r, Mirrors: [], Secure: false, Official: false };
    }
  }
  return {
    AllowNondistributableArtifactsCIDRs: [],
    AllowNondistributableArtifactsHostnames: [],
    InsecureRegistryCIDRs: cidrs,
    IndexConfigs: index,
    Mirrors: config.registryMirrors,
  };
}
