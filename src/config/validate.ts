/**
 * From merged values to a Config: the checks dockerd makes once flags and daemon.json are
 * merged (config.Validate, verifyDaemonSettings, the listener set-up), and the values derived
 * from others (TLS implied by tlsverify, the pid file under the exec root, ip-masq off without
 * iptables). Messages are dockerd's, with Berth's names.
 */
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import type { AddressPool, Config, LogLevel, RuntimeSpec, Ulimit } from './config.js';
import { defaultHost, parseHost } from './hosts.js';
import { ipBits, parseCidr, splitHostPort, type Cidr } from './net.js';
import { stockRuntime } from './options.js';

/** The merged settings by daemon.json key, every key present (defaults filled in). */
export type Values = ReadonlyMap<string, unknown>;

export interface Derived {
  configFile: string;
  /** tlsverify was given at all (flag, file or DOCKER_TLS_VERIFY): dockerd then turns TLS on. */
  tlsVerifySet: boolean;
  /** Findings gathered while reading values. */
  warnings: string[];
}

const logLevels: Record<string, LogLevel> = {
  debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', fatal: 'fatal',
};

/** Runtimes the daemon provides itself, so default-runtime may name them without --add-runtime. */
const builtinRuntimes = [stockRuntime, 'crun'];

const tcpWarning =
  'Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.';

export function buildConfig(v: Values, d: Derived): Config {
  const str = (k: string): string => v.get(k) as string;
  const num = (k: string): number => v.get(k) as number;
  const bool = (k: string): boolean => v.get(k) as boolean;
  const list = (k: string): string[] => v.get(k) as string[];
  const warnings = [...d.warnings];

  const logLevel = logLevels[str('log-level').toLowerCase()] ?? fail(`unable to parse logging level: ${str('log-level')}`);

  for (const [k, what] of [['max-concurrent-downloads', 'downloads'], ['max-concurrent-uploads', 'uploads']] as const) {
    if (num(k) < 0) fail(`invalid max concurrent ${what}: ${num(k)}`);
  }
  if (num('max-download-attempts') <= 0) fail(`invalid max download attempts: ${num('max-download-attempts')}`);
  if (num('mtu') < 0) fail(`invalid default MTU: ${num('mtu')}`);
  if (num('shutdown-timeout') < -1) fail(`invalid shutdown timeout: ${num('shutdown-timeout')} (must be -1 or more)`);
  const oom = num('oom-score-adjust');
  if (oom < -1000 || oom > 1000) fail(`invalid oom-score-adjust: ${oom} (must be in the range [-1000, 1000])`);

  const runtimes = v.get('runtimes') as Record<string, RuntimeSpec>;
  const defaultRuntime = str('default-runtime');
  if (!builtinRuntimes.includes(defaultRuntime) && runtimes[defaultRuntime] === undefined) {
    fail(`specified default runtime '${defaultRuntime}' does not exist`);
  }

  const ipcMode = str('default-ipc-mode');
  if (ipcMode !== 'private' && ipcMode !== 'shareable') {
    const hint = 'Use "shareable" or "private".';
    if (['host', 'none'].includes(ipcMode) || ipcMode.startsWith('container:')) {
      fail(`IPC mode "${ipcMode}" is not supported as default value. ${hint}`);
    }
    fail(`Default IPC mode setting (${ipcMode}) is invalid. ${hint}`);
  }
  const cgroupnsMode = str('default-cgroupns-mode');
  if (cgroupnsMode !== 'private' && cgroupnsMode !== 'host') {
    fail(`Default cgroup namespace mode (${cgroupnsMode}) is invalid. Use "host" or "private".`);
  }
  const logFormat = str('log-format');
  if (logFormat !== 'text' && logFormat !== 'json') fail(`unknown log format: ${logFormat} (use "text" or "json")`);

  const labels = conflictFreeLabels(list('labels'));

  // dockerd: "if they specify TLSVerify at all then we need to turn on TLS", even --tlsverify=false.
  const tls = bool('tls') || d.tlsVerifySet;
  const tlsVerify = bool('tlsverify');

  // verifyDaemonSettings
  const execOpts = list('exec-opts');
  const cgroupDriver = checkExecOpts(execOpts);
  const cgroupParent = str('cgroup-parent');
  if (cgroupParent !== '' && cgroupDriver === 'systemd' && (cgroupParent.length <= 6 || !cgroupParent.endsWith('.slice'))) {
    fail('cgroup-parent for systemd cgroup should be a valid slice named as "xxx.slice"');
  }
  const iptables = bool('iptables');
  if (!iptables && !bool('icc')) {
    fail('You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true.');
  }
  if (bool('ip6tables') && !bool('experimental')) fail('ip6tables rules are only available if experimental features are enabled');
  // Masquerading is done with iptables rules: without iptables, dockerd quietly drops it.
  const ipMasq = iptables && bool('ip-masq');
  if (str('bridge') !== '' && str('bip') !== '') {
    fail('You specified -b & --bip, mutually exclusive options. Please specify only one');
  }
  checkNetwork(v);

  const metricsAddr = str('metrics-addr');
  if (metricsAddr !== '') {
    try {
      const { port } = splitHostPort(metricsAddr);
      if (!/^[0-9]+$/.test(port) || Number(port) > 65535) throw new Error(`address ${metricsAddr}: invalid port`);
    } catch (err) {
      fail(`invalid metrics-addr: ${(err as Error).message}`);
    }
  }

  const given = list('hosts');
  const hosts = given.length === 0 ? [defaultHost] : given.map((h) => parseHost(h, tls));
  if (hosts.some((h) => h.startsWith('tcp://')) && !tlsVerify) warnings.push(tcpWarning);

  const execRoot = str('exec-root');
  const debug = bool('debug');
  return {
    hosts,
    dataRoot: str('data-root'),
    execRoot,
    pidfile: str('pidfile') || join(execRoot, 'berth.pid'),
    containerd: str('containerd'),
    configFile: d.configFile,
    logLevel: debug ? 'debug' : logLevel,
    debug,
    storageDriver: str('storage-driver'),
    storageOpts: list('storage-opts'),
    group: str('group'),
    tls: { tls, tlsVerify, tlsCaCert: str('tlscacert'), tlsCert: str('tlscert'), tlsKey: str('tlskey') },
    bridge: str('bridge'),
    bip: str('bip'),
    fixedCidr: str('fixed-cidr'),
    fixedCidrV6: str('fixed-cidr-v6'),
    mtu: num('mtu'),
    iptables,
    ip6tables: bool('ip6tables'),
    icc: bool('icc'),
    ipMasq,
    ipForward: bool('ip-forward'),
    ipv6: bool('ipv6'),
    ip: str('ip'),
    defaultGateway: str('default-gateway'),
    defaultGatewayV6: str('default-gateway-v6'),
    defaultAddressPools: v.get('default-address-pools') as AddressPool[],
    userlandProxy: bool('userland-proxy'),
    userlandProxyPath: str('userland-proxy-path'),
    dns: list('dns'),
    dnsSearch: list('dns-search'),
    dnsOpts: list('dns-opts'),
    insecureRegistries: list('insecure-registries'),
    registryMirrors: list('registry-mirrors'),
    maxConcurrentDownloads: num('max-concurrent-downloads'),
    maxConcurrentUploads: num('max-concurrent-uploads'),
    maxDownloadAttempts: num('max-download-attempts'),
    liveRestore: bool('live-restore'),
    shutdownTimeout: num('shutdown-timeout'),
    defaultUlimits: v.get('default-ulimits') as Record<string, Ulimit>,
    logDriver: str('log-driver'),
    logOpts: v.get('log-opts') as Record<string, string>,
    defaultRuntime,
    runtimes,
    metricsAddr,
    experimental: bool('experimental'),
    labels,
    defaultShmSize: num('default-shm-size'),
    cgroupParent,
    execOpts,
    init: bool('init'),
    initPath: str('init-path'),
    noNewPrivileges: bool('no-new-privileges'),
    seccompProfile: str('seccomp-profile'),
    oomScoreAdjust: oom,
    selinuxEnabled: bool('selinux-enabled'),
    rawLogs: bool('raw-logs'),
    logFormat,
    defaultIpcMode: ipcMode,
    defaultCgroupnsMode: cgroupnsMode,
    features: v.get('features') as Record<string, boolean>,
    warnings,
  };
}

function fail(msg: string): never {
  throw new ConfigError(msg);
}

/** config.GetConflictFreeLabels: the same key twice is fine only with the same value; duplicates go. */
function conflictFreeLabels(labels: string[]): string[] {
  const seen = new Map<string, string>();
  for (const label of labels) {
    const eq = label.indexOf('=');
    const [k, val] = [label.slice(0, eq), label.slice(eq + 1)];
    const prev = seen.get(k);
    if (prev !== undefined && prev !== val) throw new ConfigError(`conflict labels for ${k}=${val} and ${k}=${prev}`);
    seen.set(k, val);
  }
  return [...seen].map(([k, val]) => `${k}=${val}`);
}

/** Every exec-opt is key=value; the cgroup driver, the one Linux knows, must be one berthd can drive. */
function checkExecOpts(opts: string[]): string {
  let driver = '';
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    if (eq < 0) throw new ConfigError(`Unable to parse key/value option: ${opt}`);
    const key = opt.slice(0, eq).trim();
    const val = opt.slice(eq + 1).trim();
    if (key.toLowerCase() !== 'native.cgroupdriver' || driver !== '') continue;
    if (val === 'none') throw new ConfigError(`native.cgroupdriver option ${val} is internally used and cannot be specified manually`);
    if (val !== 'cgroupfs' && val !== 'systemd') throw new ConfigError(`native.cgroupdriver option ${val} not supported`);
    driver = val;
  }
  return driver;
}

/** Addresses the bridge driver would otherwise refuse at start-up, after state was created. */
function checkNetwork(v: Values): void {
  const cidr = (key: string, family: 4 | 6): Cidr | undefined => {
    const s = v.get(key) as string;
    if (s === '') return undefined;
    let c: Cidr;
    try {
      c = parseCidr(s);
    } catch (err) {
      return fail(`${key}: ${(err as Error).message}`);
    }
    if (c.family !== family) fail(`${key}: ${s} is not an IPv${family} subnet`);
    return c;
  };
  const bip = cidr('bip', 4);
  if (bip !== undefined && bip.prefix < 31) {
    const host = ipBits(bip.ip).slice(bip.prefix);
    if (!host.includes('1') || !host.includes('0')) {
      fail(`bip: ${v.get('bip') as string} is not a host address; --bip takes the bridge's own address and prefix, such as 172.17.0.1/16`);
    }
  }
  cidr('fixed-cidr', 4);
  cidr('fixed-cidr-v6', 6);
  for (const pool of v.get('default-address-pools') as AddressPool[]) {
    let base: Cidr;
    try {
      base = parseCidr(pool.base);
    } catch (err) {
      return fail(`invalid base pool ${JSON.stringify(pool.base)}: ${(err as Error).message}`);
    }
    const bits = base.family === 4 ? 32 : 128;
    if (pool.size <= 0 || pool.size < base.prefix || pool.size > bits) fail(`invalid pools size: ${pool.size}`);
  }
}
