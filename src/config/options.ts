/**
 * Every daemon setting berthd knows, in dockerd's names: daemon.json key, flag, default and how
 * its values are read. Checks that involve several settings, or that dockerd makes after the
 * flags and the file are merged, live in validate.ts.
 */
import { join } from 'node:path';
import type { AddressPool, RuntimeSpec, Ulimit } from './config.js';
import { goQuote, parseGoInt } from './go-text.js';
import {
  asBool, asInt, asObject, asString, asStrings, boolOpt, field, intOpt, listOpt, stringOpt, typeError,
  type Context, type Option,
} from './option.js';
import { parseHost } from './hosts.js';
import { ipFamily } from './net.js';
import { checkUlimit, parseUlimit, ramInBytes, ulimitNames } from './units.js';
import {
  validateDnsSearch, validateInsecureRegistry, validateIp, validateKeyValue, validateLabel, validateMirror,
} from './validators.js';

/** The directory dockerd takes TLS files from by default: $DOCKER_CERT_PATH, else ~/.docker. */
function certDir(ctx: Context): string {
  return ctx.env.DOCKER_CERT_PATH || ctx.env.DOCKER_CONFIG || join(ctx.env.HOME || '/root', '.docker');
}

// Flags typed net.IP in dockerd refuse a bad address at parse time with pflag's or IPOpt's words;
// in daemon.json the same field fails in net.IP's UnmarshalText.
function ipFlag(raw: string): string {
  if (ipFamily(raw.trim()) === 0) throw new Error(`failed to parse IP: ${goQuote(raw)}`);
  return raw.trim();
}
function ipFile(v: string): string {
  if (ipFamily(v) === 0) throw new Error(`invalid IP address: ${v}`);
  return v;
}

const hosts = listOpt('hosts', {
  flag: 'host', short: 'H', help: 'Daemon socket(s) to connect to',
  // Only checked here; the port default depends on TLS, so the URL is made after the merge.
  check: (v) => {
    parseHost(v, false);
    return v;
  },
});

const addressPools: Option<AddressPool[]> = {
  key: 'default-address-pools',
  spec: { flag: 'default-address-pool', arg: 'pool-options', help: 'Default address pools for node specific local networks' },
  repeat: true,
  default: () => [],
  set: (prev, raw) => [...(prev ?? []), parsePool(raw)],
  decode: (v) => {
    if (!Array.isArray(v)) throw typeError('default-address-pools', v, '[]*NetworkToSplit');
    return v.map((p) => {
      const o = asObject('default-address-pools', p, 'NetworkToSplit');
      const base = field(o, 'base');
      const size = field(o, 'size');
      return {
        base: base === undefined || base === null ? '' : asString('default-address-pools.base', base),
        size: size === undefined || size === null ? 0 : asInt('default-address-pools.size', size),
      };
    });
  },
};

/** opts.PoolsOpt.Set: "base=172.30.0.0/16,size=24". */
function parsePool(raw: string): AddressPool {
  const pool: AddressPool = { base: '', size: 0 };
  for (const f of raw.split(',')) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new Error(`invalid field '${f}' must be a key=value pair`);
    const key = f.slice(0, eq).toLowerCase();
    const value = f.slice(eq + 1).toLowerCase();
    if (key === 'base') pool.base = value;
    else if (key === 'size') {
      try {
        pool.size = parseGoInt(value);
      } catch (err) {
        throw new Error(`invalid size value: ${goQuote(value)} (must be integer): ${(err as Error).message}`);
      }
    } else throw new Error(`unexpected key '${key}' in '${f}'`);
  }
  return pool;
}

const ulimits: Option<Record<string, Ulimit>> = {
  key: 'default-ulimits',
  spec: { flag: 'default-ulimit', arg: 'ulimit', help: 'Default ulimits for containers', defaultText: '[]' },
  repeat: true,
  default: () => ({}),
  set: (prev, raw) => {
    const u = parseUlimit(raw);
    return { ...prev, [u.Name]: u };
  },
  decode: (v) => {
    const out: Record<string, Ulimit> = {};
    for (const [name, x] of Object.entries(asObject('default-ulimits', v, 'map[string]*units.Ulimit'))) {
      const o = asObject('default-ulimits', x, 'units.Ulimit');
      const n = field(o, 'Name');
      const u: Ulimit = {
        Name: n === undefined || n === null ? name : asString('default-ulimits.Name', n),
        Soft: asInt('default-ulimits.Soft', field(o, 'Soft') ?? 0),
        Hard: asInt('default-ulimits.Hard', field(o, 'Hard') ?? 0),
      };
      if (!ulimitNames.includes(u.Name)) throw new Error(`invalid ulimit type: ${u.Name}`);
      out[name] = checkUlimit(u);
    }
    return out;
  },
};

const logOpts: Option<Record<string, string>> = {
  key: 'log-opts',
  spec: { flag: 'log-opt', arg: 'map', help: 'Default log driver options for containers', defaultText: 'map[]' },
  repeat: true,
  default: () => ({}),
  set: (prev, raw) => {
    const [k, v] = validateKeyValue(raw, 'log-opt');
    return { ...prev, [k]: v };
  },
  decode: (v) => {
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(asObject('log-opts', v, 'map[string]string'))) out[k] = asString('log-opts', x);
    return out;
  },
};

/** dockerd's own runtime, which can be neither added nor redefined. */
export const stockRuntime = 'runc';

const runtimes: Option<Record<string, RuntimeSpec>> = {
  key: 'runtimes',
  spec: { flag: 'add-runtime', arg: 'runtime', help: 'Register an additional OCI compatible runtime', defaultText: '[]' },
  repeat: true,
  default: () => ({}),
  // opts.RuntimeOpt.Set, messages included.
  set: (prev, raw) => {
    const eq = raw.indexOf('=');
    const name = (eq < 0 ? '' : raw.slice(0, eq)).trim().toLowerCase();
    const path = (eq < 0 ? '' : raw.slice(eq + 1)).trim();
    if (name === '' || path === '') throw new Error(`invalid runtime argument: ${raw}`);
    if (name === stockRuntime) throw new Error(`runtime name '${stockRuntime}' is reserved`);
    if (prev?.[name] !== undefined) throw new Error(`runtime '${name}' was already defined`);
    return { ...prev, [name]: { path } };
  },
  decode: (v) => {
    const out: Record<string, RuntimeSpec> = {};
    for (const [name, x] of Object.entries(asObject('runtimes', v, 'map[string]types.Runtime'))) {
      if (name === stockRuntime) throw new Error(`runtime name '${stockRuntime}' is reserved`);
      const o = asObject('runtimes', x, 'types.Runtime');
      const path = field(o, 'path');
      const args = field(o, 'runtimeArgs');
      if (path === undefined || path === null || asString('runtimes.path', path) === '') {
        throw new Error(`runtime '${name}' has no path`);
      }
      const spec: RuntimeSpec = { path: path as string };
      if (args !== undefined && args !== null) spec.runtimeArgs = asStrings('runtimes.runtimeArgs', args);
      out[name] = spec;
    }
    return out;
  },
};

const shmSize: Option<number> = {
  key: 'default-shm-size',
  spec: { flag: 'default-shm-size', arg: 'bytes', help: 'Default shm size for containers', defaultText: '64MiB' },
  default: () => 64 * 1024 * 1024,
  set: (_prev, raw) => ramInBytes(raw),
  // opts.MemBytes.UnmarshalJSON accepts only a JSON string.
  decode: (v) => {
    if (typeof v !== 'string') throw new Error(`invalid size: ${goQuote(JSON.stringify(v))}`);
    return ramInBytes(v);
  },
};

const features: Option<Record<string, boolean>> = {
  key: 'features',
  default: () => ({}),
  set: (prev) => prev ?? {},
  decode: (v) => {
    const out: Record<string, boolean> = {};
    for (const [k, x] of Object.entries(asObject('features', v, 'map[string]bool'))) out[k] = asBool('features', x);
    return out;
  },
};

// Accepted and ignored: dockerd's BuildKit settings have no meaning for Berth's builder.
const builder: Option<Record<string, unknown>> = {
  key: 'builder',
  default: () => ({}),
  set: (prev) => prev ?? {},
  decode: (v) => asObject('builder', v, 'BuilderConfig'),
};

export const options: readonly Option[] = [
  hosts,
  stringOpt('data-root', { flag: 'data-root', help: 'Root directory of persistent Berth state', def: '/var/lib/berth', defaultText: '"/var/lib/berth"' }),
  stringOpt('exec-root', { flag: 'exec-root', help: 'Root directory for execution state files', def: '/run/berth', defaultText: '"/run/berth"' }),
  stringOpt('pidfile', { flag: 'pidfile', short: 'p', help: 'Path to use for daemon PID file', def: '', defaultText: '"<exec-root>/berth.pid"' }),
  stringOpt('containerd', { flag: 'containerd', help: 'containerd grpc address (default: berthd starts its own)', def: '' }),
  stringOpt('log-level', { flag: 'log-level', short: 'l', help: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")', def: 'info', defaultText: '"info"' }),
  boolOpt('debug', { flag: 'debug', short: 'D', help: 'Enable debug mode', def: false }),
  stringOpt('storage-driver', { flag: 'storage-driver', short: 's', help: 'Storage driver to use', def: '' }),
  listOpt('storage-opts', { flag: 'storage-opt', help: 'Storage driver options' }),
  stringOpt('group', { flag: 'group', short: 'G', help: 'Group for the unix socket', def: 'docker', defaultText: '"docker"' }),
  boolOpt('tls', { flag: 'tls', help: 'Use TLS; implied by --tlsverify', def: false }),
  // dockerd reads DOCKER_TLS_VERIFY here too, so a shell set up for the client can start the daemon.
  boolOpt('tlsverify', { flag: 'tlsverify', help: 'Use TLS and verify the remote', def: (ctx) => Boolean(ctx.env.DOCKER_TLS_VERIFY) }),
  stringOpt('tlscacert', { flag: 'tlscacert', help: 'Trust certs signed only by this CA', def: (ctx) => join(certDir(ctx), 'ca.pem'), defaultText: '"~/.docker/ca.pem"' }),
  stringOpt('tlscert', { flag: 'tlscert', help: 'Path to TLS certificate file', def: (ctx) => join(certDir(ctx), 'cert.pem'), defaultText: '"~/.docker/cert.pem"' }),
  stringOpt('tlskey', { flag: 'tlskey', help: 'Path to TLS key file', def: (ctx) => join(certDir(ctx), 'key.pem'), defaultText: '"~/.docker/key.pem"' }),

  stringOpt('bridge', { flag: 'bridge', short: 'b', help: 'Attach containers to a network bridge', def: '' }),
  stringOpt('bip', { flag: 'bip', help: 'Specify network bridge IP', def: '' }),
  stringOpt('fixed-cidr', { flag: 'fixed-cidr', help: 'IPv4 subnet for fixed IPs', def: '' }),
  stringOpt('fixed-cidr-v6', { flag: 'fixed-cidr-v6', help: 'IPv6 subnet for fixed IPs', def: '' }),
  intOpt('mtu', { flag: 'mtu', help: 'Set the containers network MTU', def: 0 }),
  boolOpt('iptables', { flag: 'iptables', help: 'Enable addition of iptables rules', def: true, defaultText: 'true' }),
  boolOpt('ip6tables', { flag: 'ip6tables', help: 'Enable addition of ip6tables rules', def: false }),
  boolOpt('icc', { flag: 'icc', help: 'Enable inter-container communication', def: true, defaultText: 'true' }),
  boolOpt('ip-masq', { flag: 'ip-masq', help: 'Enable IP masquerading', def: true, defaultText: 'true' }),
  boolOpt('ip-forward', { flag: 'ip-forward', help: 'Enable net.ipv4.ip_forward', def: true, defaultText: 'true' }),
  boolOpt('ipv6', { flag: 'ipv6', help: 'Enable IPv6 networking', def: false }),
  stringOpt('ip', {
    flag: 'ip', arg: 'ip', help: 'Default IP when binding container ports', def: '0.0.0.0', defaultText: '0.0.0.0',
    // opts.IPOpt's message on the flag.
    check: (v) => {
      if (ipFamily(v) === 0) throw new Error(`${v} is not an ip address`);
      return v;
    },
    checkFile: ipFile,
  }),
  stringOpt('default-gateway', { flag: 'default-gateway', arg: 'ip', help: 'Container default gateway IPv4 address', def: '', check: ipFlag, checkFile: ipFile }),
  stringOpt('default-gateway-v6', { flag: 'default-gateway-v6', arg: 'ip', help: 'Container default gateway IPv6 address', def: '', check: ipFlag, checkFile: ipFile }),
  addressPools,
  boolOpt('userland-proxy', { flag: 'userland-proxy', help: 'Use userland proxy for loopback traffic', def: true, defaultText: 'true' }),
  stringOpt('userland-proxy-path', { flag: 'userland-proxy-path', help: 'Path to the userland proxy binary', def: '' }),
  listOpt('dns', { flag: 'dns', help: 'DNS server to use', check: validateIp }),
  listOpt('dns-search', { flag: 'dns-search', help: 'DNS search domains to use', check: validateDnsSearch }),
  listOpt('dns-opts', { flag: 'dns-opt', help: 'DNS options to use' }),

  listOpt('insecure-registries', {
    flag: 'insecure-registry', help: 'Enable insecure registry communication',
    check: (v, ctx) => {
      const { value, warning } = validateInsecureRegistry(v);
      if (warning !== undefined) ctx.warnings.push(warning);
      return value;
    },
  }),
  listOpt('registry-mirrors', { flag: 'registry-mirror', help: 'Preferred Docker registry mirror', check: validateMirror }),
  intOpt('max-concurrent-downloads', { flag: 'max-concurrent-downloads', help: 'Set the max concurrent downloads for each pull', def: 3, defaultText: '3' }),
  intOpt('max-concurrent-uploads', { flag: 'max-concurrent-uploads', help: 'Set the max concurrent uploads for each push', def: 5, defaultText: '5' }),
  intOpt('max-download-attempts', { flag: 'max-download-attempts', help: 'Set the max download attempts for each pull', def: 5, defaultText: '5' }),

  boolOpt('live-restore', { flag: 'live-restore', help: 'Enable live restore of containers when the daemon stops', def: false }),
  intOpt('shutdown-timeout', { flag: 'shutdown-timeout', help: 'Set the default shutdown timeout (seconds; -1 waits forever)', def: 15, defaultText: '15' }),
  ulimits,
  stringOpt('log-driver', { flag: 'log-driver', help: 'Default driver for container logs', def: 'json-file', defaultText: '"json-file"' }),
  logOpts,
  stringOpt('default-runtime', { flag: 'default-runtime', help: 'Default OCI runtime for containers', def: stockRuntime, defaultText: `"${stockRuntime}"` }),
  runtimes,
  stringOpt('metrics-addr', { flag: 'metrics-addr', help: 'Set default address and port to serve the metrics api on', def: '' }),
  boolOpt('experimental', { flag: 'experimental', help: 'Enable experimental features', def: false }),
  listOpt('labels', { flag: 'label', help: 'Set key=value labels to the daemon', check: validateLabel }),
  shmSize,
  stringOpt('cgroup-parent', { flag: 'cgroup-parent', help: 'Set parent cgroup for all containers', def: '' }),
  listOpt('exec-opts', { flag: 'exec-opt', help: 'Runtime execution options' }),
  boolOpt('init', { flag: 'init', help: 'Run an init in the container to forward signals and reap processes', def: false }),
  stringOpt('init-path', { flag: 'init-path', help: 'Path to the init binary', def: '' }),
  boolOpt('no-new-privileges', { flag: 'no-new-privileges', help: 'Set no-new-privileges by default for new containers', def: false }),
  stringOpt('seccomp-profile', { flag: 'seccomp-profile', help: 'Path to seccomp profile', def: '' }),
  intOpt('oom-score-adjust', { flag: 'oom-score-adjust', help: 'Set the oom_score_adj for the daemon', def: -500, defaultText: '-500' }),

  boolOpt('selinux-enabled', { flag: 'selinux-enabled', help: 'Enable selinux support', def: false }),
  boolOpt('raw-logs', { flag: 'raw-logs', help: 'Full timestamps without ANSI coloring', def: false }),
  stringOpt('log-format', { flag: 'log-format', help: 'Set the logging format ("text"|"json")', def: 'text', defaultText: '"text"' }),
  stringOpt('default-ipc-mode', { flag: 'default-ipc-mode', help: 'Default mode for containers ipc ("shareable" | "private")', def: 'private', defaultText: '"private"' }),
  stringOpt('default-cgroupns-mode', {
    flag: 'default-cgroupns-mode', help: 'Default mode for containers cgroup namespace ("host" | "private")',
    def: (ctx) => (ctx.cgroupV2 ? 'private' : 'host'), defaultText: '"private" on cgroup v2, else "host"',
  }),
  features,
  builder,
];

export const optionsByKey: ReadonlyMap<string, Option> = new Map(options.map((o) => [o.key, o]));
