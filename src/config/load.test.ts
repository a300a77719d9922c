import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../lib/errors.js';
import { loadConfig, type Config, type LoadOptions } from './index.js';

const missing = async (p: string): Promise<string> => {
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
};

/** Loads with a fake daemon.json (object → JSON, string as is, undefined → missing) and no host environment. */
async function load(argv: string[], file?: unknown, opts: LoadOptions = {}): Promise<Config> {
  const readFile = file === undefined ? missing : async () => (typeof file === 'string' ? file : JSON.stringify(file));
  const r = await loadConfig(argv, { readFile, env: {}, cgroupV2: true, ...opts });
  assert.ok('config' in r, 'expected a config');
  return r.config;
}

async function fails(argv: string[], file: unknown, expected: string | RegExp, opts: LoadOptions = {}): Promise<void> {
  await assert.rejects(load(argv, file, opts), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    if (typeof expected === 'string') assert.equal(err.message, expected);
    else assert.match(err.message, expected);
    return true;
  });
}

const P = '/etc/berth/daemon.json';
const prefix = `unable to configure the Berth daemon with file ${P}: `;

describe('loadConfig: defaults', () => {
  it('gives dockerd 20.10 defaults with Berth paths', async () => {
    const c = await load([]);
    assert.deepEqual(c.hosts, ['unix:///run/berth/berth.sock']);
    assert.equal(c.dataRoot, '/var/lib/berth');
    assert.equal(c.execRoot, '/run/berth');
    assert.equal(c.pidfile, '/run/berth/berth.pid');
    assert.equal(c.containerd, '');
    assert.equal(c.configFile, P);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.debug, false);
    assert.equal(c.storageDriver, '');
    assert.equal(c.group, 'docker');
    assert.deepEqual(c.tls, {
      tls: false, tlsVerify: false,
      tlsCaCert: '/root/.docker/ca.pem', tlsCert: '/root/.docker/cert.pem', tlsKey: '/root/.docker/key.pem',
    });
    assert.equal(c.mtu, 0);
    assert.equal(c.iptables, true);
    assert.equal(c.ip6tables, false);
    assert.equal(c.icc, true);
    assert.equal(c.ipMasq, true);
    assert.equal(c.ipForward, true);
    assert.equal(c.ipv6, false);
    assert.equal(c.ip, '0.0.0.0');
    assert.equal(c.userlandProxy, true);
    assert.deepEqual([c.dns, c.dnsSearch, c.dnsOpts, c.insecureRegistries, c.registryMirrors, c.labels, c.execOpts, c.storageOpts], [[], [], [], [], [], [], [], []]);
    assert.deepEqual(c.defaultAddressPools, []);
    assert.equal(c.maxConcurrentDownloads, 3);
    assert.equal(c.maxConcurrentUploads, 5);
    assert.equal(c.maxDownloadAttempts, 5);
    assert.equal(c.liveRestore, false);
    assert.equal(c.shutdownTimeout, 15);
    assert.deepEqual(c.defaultUlimits, {});
    assert.equal(c.logDriver, 'json-file');
    assert.deepEqual(c.logOpts, {});
    assert.equal(c.defaultRuntime, 'runc');
    assert.deepEqual(c.runtimes, {});
    assert.equal(c.metricsAddr, '');
    assert.equal(c.experimental, false);
    assert.equal(c.defaultShmSize, 64 * 1024 * 1024);
    assert.equal(c.init, false);
    assert.equal(c.noNewPrivileges, false);
    assert.equal(c.oomScoreAdjust, -500);
    assert.equal(c.logFormat, 'text');
    assert.equal(c.defaultIpcMode, 'private');
    assert.equal(c.defaultCgroupnsMode, 'private');
    assert.deepEqual(c.features, {});
    assert.deepEqual(c.warnings, []);
  });

  it('picks the cgroupns default from the cgroup version', async () => {
    assert.equal((await load([], undefined, { cgroupV2: false })).defaultCgroupnsMode, 'host');
  });

  it('takes TLS file defaults from DOCKER_CERT_PATH, else $HOME/.docker', async () => {
    const c = await load([], undefined, { env: { DOCKER_CERT_PATH: '/certs' } });
    assert.deepEqual([c.tls.tlsCaCert, c.tls.tlsCert, c.tls.tlsKey], ['/certs/ca.pem', '/certs/cert.pem', '/certs/key.pem']);
    assert.equal((await load([], undefined, { env: { HOME: '/home/me' } })).tls.tlsCaCert, '/home/me/.docker/ca.pem');
  });

  it('turns on tlsverify (and so TLS) from DOCKER_TLS_VERIFY, as dockerd does', async () => {
    const c = await load([], undefined, { env: { DOCKER_TLS_VERIFY: '1' } });
    assert.equal(c.tls.tlsVerify, true);
    assert.equal(c.tls.tls, true);
  });

  it('puts the pid file under a changed exec root unless it is given', async () => {
    assert.equal((await load(['--exec-root', '/run/b2'])).pidfile, '/run/b2/berth.pid');
    assert.equal((await load(['--exec-root', '/run/b2', '-p', '/x.pid'])).pidfile, '/x.pid');
    assert.equal((await load([], { 'exec-root': '/run/b3' })).pidfile, '/run/b3/berth.pid');
  });
});

describe('loadConfig: help, version and arguments', () => {
  it('returns the help text for -h and --help', async () => {
    for (const argv of [['-h'], ['--help'], ['-D', '--help', 'stray']]) {
      const r = await loadConfig(argv, { readFile: missing, env: {} });
      assert.ok('help' in r);
      assert.match(r.help, /^Usage:\tberthd/);
    }
  });

  it('returns version for -v and --version', async () => {
    assert.deepEqual(await loadConfig(['-v'], { readFile: missing, env: {} }), { version: true });
    assert.deepEqual(await loadConfig(['--version'], { readFile: missing, env: {} }), { version: true });
  });

  it('does not read the config file for help or version', async () => {
    const never = async (): Promise<string> => assert.fail('read the file');
    assert.ok('help' in (await loadConfig(['--help'], { readFile: never })));
    assert.ok('version' in (await loadConfig(['-v'], { readFile: never })));
  });

  it('honours --help=false', async () => {
    assert.ok('config' in (await loadConfig(['--help=false'], { readFile: missing, env: {} })));
  });

  it('refuses positional arguments', async () => {
    await fails(['start'], undefined, "berthd: 'start' is not a berthd command.\nSee 'berthd --help'");
    await fails(['--iptables', 'false'], undefined, /^berthd: 'false' is not a berthd command/);
    await fails(['--', '--debug'], undefined, /'--debug' is not a berthd command/);
  });

  it('refuses unknown flags and missing values', async () => {
    await fails(['--foo'], undefined, 'unknown flag: --foo');
    await fails(['--data-root'], undefined, 'flag needs an argument: --data-root');
    await fails(['-p'], undefined, "flag needs an argument: 'p' in -p");
  });
});

describe('loadConfig: flag forms', () => {
  it('reads every spelling of a valued flag', async () => {
    assert.equal((await load(['--data-root=/a'])).dataRoot, '/a');
    assert.equal((await load(['--data-root', '/b'])).dataRoot, '/b');
    assert.equal((await load(['-G', 'staff'])).group, 'staff');
    assert.equal((await load(['-Gstaff'])).group, 'staff');
    assert.equal((await load(['-G=staff'])).group, 'staff');
    assert.equal((await load(['-s', 'vfs'])).storageDriver, 'vfs');
  });

  it('keeps the last value of a repeated single-valued flag', async () => {
    assert.equal((await load(['--data-root', '/a', '--data-root', '/b'])).dataRoot, '/b');
  });

  it('appends repeated list flags, in order', async () => {
    const c = await load([
      '-H', 'unix:///a.sock', '--host=unix:///b.sock', '--dns', '1.1.1.1', '--dns', '8.8.8.8',
      '--dns-search', 'a.example', '--dns-opt', 'ndots:2', '--storage-opt', 'size=1G', '--exec-opt', 'native.cgroupdriver=cgroupfs',
      '--label', 'a=1', '--label', 'b=2', '--registry-mirror', 'https://m.example', '--insecure-registry', '10.0.0.0/8',
    ]);
    assert.deepEqual(c.hosts, ['unix:///a.sock', 'unix:///b.sock']);
    assert.deepEqual(c.dns, ['1.1.1.1', '8.8.8.8']);
    assert.deepEqual(c.dnsSearch, ['a.example']);
    assert.deepEqual(c.dnsOpts, ['ndots:2']);
    assert.deepEqual(c.storageOpts, ['size=1G']);
    assert.deepEqual(c.execOpts, ['native.cgroupdriver=cgroupfs']);
    assert.deepEqual(c.labels, ['a=1', 'b=2']);
    assert.deepEqual(c.registryMirrors, ['https://m.example/']);
    assert.deepEqual(c.insecureRegistries, ['10.0.0.0/8']);
  });

  it('reads bool flags bare, with =true/=false and strconv spellings', async () => {
    assert.equal((await load(['--iptables=false', '--icc'])).iptables, false);
    assert.equal((await load(['--ipv6'])).ipv6, true);
    assert.equal((await load(['--ipv6=true'])).ipv6, true);
    assert.equal((await load(['--ipv6=1'])).ipv6, true);
    assert.equal((await load(['--userland-proxy=F'])).userlandProxy, false);
    assert.equal((await load(['-D'])).debug, true);
    assert.equal((await load(['-D=false'])).debug, false);
    const c = await load(['--live-restore', '--experimental', '--init', '--no-new-privileges', '--ip6tables', '--selinux-enabled', '--raw-logs', '--tls']);
    assert.deepEqual(
      [c.liveRestore, c.experimental, c.init, c.noNewPrivileges, c.ip6tables, c.selinuxEnabled, c.rawLogs, c.tls.tls],
      [true, true, true, true, true, true, true, true],
    );
    await fails(['--ipv6=yes'], undefined, 'invalid argument "yes" for "--ipv6" flag: strconv.ParseBool: parsing "yes": invalid syntax');
    await fails(['-D=maybe'], undefined, 'invalid argument "maybe" for "-D, --debug" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
  });

  it('reads int flags as pflag does, and refuses non-numbers', async () => {
    assert.equal((await load(['--mtu', '1400'])).mtu, 1400);
    assert.equal((await load(['--mtu=0x578'])).mtu, 1400);
    assert.equal((await load(['--shutdown-timeout', '-1'])).shutdownTimeout, -1);
    assert.equal((await load(['--oom-score-adjust=-1000'])).oomScoreAdjust, -1000);
    const c = await load(['--max-concurrent-downloads', '0', '--max-concurrent-uploads', '9', '--max-download-attempts', '2']);
    assert.deepEqual([c.maxConcurrentDownloads, c.maxConcurrentUploads, c.maxDownloadAttempts], [0, 9, 2]);
    await fails(['--mtu', 'abc'], undefined, 'invalid argument "abc" for "--mtu" flag: strconv.ParseInt: parsing "abc": invalid syntax');
    await fails(['--shutdown-timeout=1.5'], undefined, /invalid argument "1.5" for "--shutdown-timeout" flag/);
  });

  it('reads the structured flags', async () => {
    const c = await load([
      '--default-ulimit', 'nofile=1024:2048', '--default-ulimit', 'nproc=512', '--default-ulimit', 'nofile=10:20',
      '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3', '--log-driver', 'local',
      '--add-runtime', 'crun=/usr/bin/crun', '--add-runtime', 'kata=/opt/kata',
      '--default-address-pool', 'base=10.10.0.0/16,size=24', '--default-address-pool', 'Base=10.20.0.0/16,SIZE=26',
      '--default-shm-size', '128M',
    ]);
    assert.deepEqual(c.defaultUlimits, {
      nofile: { Name: 'nofile', Soft: 10, Hard: 20 },
      nproc: { Name: 'nproc', Soft: 512, Hard: 512 },
    });
    assert.deepEqual(c.logOpts, { 'max-size': '10m', 'max-file': '3' });
    assert.equal(c.logDriver, 'local');
    assert.deepEqual(c.runtimes, { crun: { path: '/usr/bin/crun' }, kata: { path: '/opt/kata' } });
    assert.deepEqual(c.defaultAddressPools, [{ base: '10.10.0.0/16', size: 24 }, { base: '10.20.0.0/16', size: 26 }]);
    assert.equal(c.defaultShmSize, 128 * 1024 * 1024);
  });

  it('reads the remaining string flags as given', async () => {
    const c = await load([
      '--containerd', '/run/containerd/containerd.sock', '--userland-proxy-path', '/usr/bin/docker-proxy',
      '--cgroup-parent', 'berth', '--init-path', '/usr/bin/tini', '--seccomp-profile', '/etc/s.json',
      '--metrics-addr', '127.0.0.1:9323', '--default-runtime', 'crun', '-b', 'br0', '--fixed-cidr', '10.1.0.0/24',
      '--fixed-cidr-v6', '2001:db8::/64', '--ip', '127.0.0.1', '--default-gateway', '10.1.0.254',
      '--default-gateway-v6', '2001:db8::1', '--log-format', 'json', '--default-ipc-mode', 'shareable',
      '--default-cgroupns-mode', 'host', '--log-level', 'error',
    ]);
    assert.equal(c.containerd, '/run/containerd/containerd.sock');
    assert.equal(c.userlandProxyPath, '/usr/bin/docker-proxy');
    assert.equal(c.cgroupParent, 'berth');
    assert.equal(c.initPath, '/usr/bin/tini');
    assert.equal(c.seccompProfile, '/etc/s.json');
    assert.equal(c.metricsAddr, '127.0.0.1:9323');
    assert.equal(c.defaultRuntime, 'crun');
    assert.equal(c.bridge, 'br0');
    assert.equal(c.fixedCidr, '10.1.0.0/24');
    assert.equal(c.fixedCidrV6, '2001:db8::/64');
    assert.equal(c.ip, '127.0.0.1');
    assert.equal(c.defaultGateway, '10.1.0.254');
    assert.equal(c.defaultGatewayV6, '2001:db8::1');
    assert.equal(c.logFormat, 'json');
    assert.equal(c.defaultIpcMode, 'shareable');
    assert.equal(c.defaultCgroupnsMode, 'host');
    assert.equal(c.logLevel, 'error');
  });

  it('refuses bad values at the flag with pflag\'s wording', async () => {
    await fails(['-H', 'tcp://host:notaport'], undefined, 'invalid argument "tcp://host:notaport" for "-H, --host" flag: Invalid bind address format: tcp://host:notaport');
    await fails(['-H', 'foo://x'], undefined, /Invalid bind address format: foo:\/\/x$/);
    await fails(['-H', 'fd://'], undefined, /not supported by berthd/);
    await fails(['--dns', '1.2.3'], undefined, 'invalid argument "1.2.3" for "--dns" flag: 1.2.3 is not an ip address');
    await fails(['--dns-search', 'xxx-'], undefined, 'invalid argument "xxx-" for "--dns-search" flag: xxx- is not a valid domain');
    await fails(['--label', 'x'], undefined, 'invalid argument "x" for "--label" flag: bad attribute format: x');
    await fails(['--log-opt', 'max-size'], undefined, /invalid argument "max-size" for "--log-opt" flag: invalid log-opt format: max-size/);
    await fails(['--ip', 'x'], undefined, 'invalid argument "x" for "--ip" flag: x is not an ip address');
    await fails(['--default-gateway', '10.0.0'], undefined, 'invalid argument "10.0.0" for "--default-gateway" flag: failed to parse IP: "10.0.0"');
    await fails(['--default-gateway-v6', 'zz'], undefined, /failed to parse IP: "zz"/);
    await fails(['--registry-mirror', 'https://m/v2/'], undefined, /for "--registry-mirror" flag: invalid mirror: path, query, or fragment at end of the URI/);
    await fails(['--insecure-registry', 'svn://x'], undefined, 'invalid argument "svn://x" for "--insecure-registry" flag: insecure registry svn://x should not contain \'://\'');
    await fails(['--default-ulimit', 'nofile=2048:1024'], undefined, 'invalid argument "nofile=2048:1024" for "--default-ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2048 > 1024');
    await fails(['--default-ulimit', 'bogus=1'], undefined, /invalid ulimit type: bogus/);
    await fails(['--default-shm-size', '64x'], undefined, 'invalid argument "64x" for "--default-shm-size" flag: invalid size: \'64x\'');
    await fails(['--add-runtime', 'runc=/x'], undefined, 'invalid argument "runc=/x" for "--add-runtime" flag: runtime name \'runc\' is reserved');
    await fails(['--add-runtime', 'RUNC=/x'], undefined, /runtime name 'runc' is reserved/);
    await fails(['--add-runtime', 'crun'], undefined, /invalid runtime argument: crun/);
    await fails(['--add-runtime', 'k=/a', '--add-runtime', 'k=/b'], undefined, /runtime 'k' was already defined/);
    await fails(['--default-address-pool', 'base10.0.0.0/8'], undefined, /invalid field 'base10.0.0.0\/8' must be a key=value pair/);
    await fails(['--default-address-pool', 'base=10.0.0.0/8,mask=24'], undefined, /unexpected key 'mask' in 'mask=24'/);
    await fails(['--default-address-pool', 'base=10.0.0.0/8,size=x'], undefined, /invalid size value: "x" \(must be integer\)/);
  });

  it('drops an http:// from an insecure registry with a warning', async () => {
    const c = await load(['--insecure-registry', 'http://reg.local:5000']);
    assert.deepEqual(c.insecureRegistries, ['reg.local:5000']);
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0] as string, /insecure registry http:\/\/reg\.local:5000 should not contain 'http:\/\/'/);
  });
});

describe('loadConfig: daemon.json', () => {
  it('applies every key', async () => {
    const c = await load([], {
      hosts: ['unix:///x.sock', 'tcp://127.0.0.1'], 'data-root': '/d', 'exec-root': '/e', pidfile: '/p.pid',
      containerd: '/c.sock', 'log-level': 'warn', debug: false, 'storage-driver': 'vfs', 'storage-opts': ['a=b'],
      group: 'g', tls: true, tlsverify: true, tlscacert: '/ca', tlscert: '/cert', tlskey: '/key',
      bridge: 'br1', 'fixed-cidr': '10.0.0.0/24', 'fixed-cidr-v6': 'fd00::/64', mtu: 1450,
      iptables: true, ip6tables: true, icc: false, 'ip-masq': false, 'ip-forward': false, ipv6: true, ip: '127.0.0.1',
      'default-gateway': '10.0.0.1', 'default-gateway-v6': 'fd00::1',
      'default-address-pools': [{ base: '10.100.0.0/16', size: 24 }], 'userland-proxy': false, 'userland-proxy-path': '/up',
      dns: ['1.1.1.1'], 'dns-search': ['ex.com'], 'dns-opts': ['ndots:1'], 'insecure-registries': ['r:5000'],
      'registry-mirrors': ['https://m'], 'max-concurrent-downloads': 1, 'max-concurrent-uploads': 2, 'max-download-attempts': 3,
      'live-restore': true, 'shutdown-timeout': 30, 'default-ulimits': { nofile: { Name: 'nofile', Hard: 64000, Soft: 64000 } },
      'log-driver': 'local', 'log-opts': { 'max-size': '1m' }, 'default-runtime': 'kata',
      runtimes: { kata: { path: '/opt/kata', runtimeArgs: ['--debug'] } }, 'metrics-addr': '127.0.0.1:9323', experimental: true,
      labels: ['a=b'], 'default-shm-size': '1G', 'cgroup-parent': 'berth.slice', 'exec-opts': ['native.cgroupdriver=systemd'], init: true,
      'init-path': '/tini', 'no-new-privileges': true, 'seccomp-profile': 'unconfined', 'oom-score-adjust': 0,
    });
    assert.deepEqual(c.hosts, ['unix:///x.sock', 'tcp://127.0.0.1:2376']);
    assert.equal(c.dataRoot, '/d');
    assert.equal(c.execRoot, '/e');
    assert.equal(c.pidfile, '/p.pid');
    assert.equal(c.containerd, '/c.sock');
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.storageDriver, 'vfs');
    assert.deepEqual(c.storageOpts, ['a=b']);
    assert.equal(c.group, 'g');
    assert.deepEqual(c.tls, { tls: true, tlsVerify: true, tlsCaCert: '/ca', tlsCert: '/cert', tlsKey: '/key' });
    assert.equal(c.bridge, 'br1');
    assert.equal(c.fixedCidr, '10.0.0.0/24');
    assert.equal(c.fixedCidrV6, 'fd00::/64');
    assert.equal(c.mtu, 1450);
    assert.deepEqual([c.iptables, c.ip6tables, c.icc, c.ipMasq, c.ipForward, c.ipv6], [true, true, false, false, false, true]);
    assert.equal(c.ip, '127.0.0.1');
    assert.equal(c.defaultGateway, '10.0.0.1');
    assert.equal(c.defaultGatewayV6, 'fd00::1');
    assert.deepEqual(c.defaultAddressPools, [{ base: '10.100.0.0/16', size: 24 }]);
    assert.equal(c.userlandProxy, false);
    assert.equal(c.userlandProxyPath, '/up');
    assert.deepEqual([c.dns, c.dnsSearch, c.dnsOpts], [['1.1.1.1'], ['ex.com'], ['ndots:1']]);
    assert.deepEqual(c.insecureRegistries, ['r:5000']);
    assert.deepEqual(c.registryMirrors, ['https://m/']);
    assert.deepEqual([c.maxConcurrentDownloads, c.maxConcurrentUploads, c.maxDownloadAttempts], [1, 2, 3]);
    assert.equal(c.liveRestore, true);
    assert.equal(c.shutdownTimeout, 30);
    assert.deepEqual(c.defaultUlimits, { nofile: { Name: 'nofile', Hard: 64000, Soft: 64000 } });
    assert.equal(c.logDriver, 'local');
    assert.deepEqual(c.logOpts, { 'max-size': '1m' });
    assert.equal(c.defaultRuntime, 'kata');
    assert.deepEqual(c.runtimes, { kata: { path: '/opt/kata', runtimeArgs: ['--debug'] } });
    assert.equal(c.metricsAddr, '127.0.0.1:9323');
    assert.equal(c.experimental, true);
    assert.deepEqual(c.labels, ['a=b']);
    assert.equal(c.defaultShmSize, 1024 ** 3);
    assert.equal(c.cgroupParent, 'berth.slice');
    assert.deepEqual(c.execOpts, ['native.cgroupdriver=systemd']);
    assert.equal(c.init, true);
    assert.equal(c.initPath, '/tini');
    assert.equal(c.noNewPrivileges, true);
    assert.equal(c.seccompProfile, 'unconfined');
    assert.equal(c.oomScoreAdjust, 0);
    assert.deepEqual(c.warnings, []);
  });

  it('accepts the harmless keys users commonly carry', async () => {
    const c = await load([], {
      features: { buildkit: true }, 'log-format': 'json', 'raw-logs': true, 'selinux-enabled': false,
      'default-cgroupns-mode': 'host', 'default-ipc-mode': 'shareable', builder: { gc: { enabled: true } },
    });
    assert.deepEqual(c.features, { buildkit: true });
    assert.equal(c.logFormat, 'json');
    assert.equal(c.rawLogs, true);
    assert.equal(c.selinuxEnabled, false);
    assert.equal(c.defaultCgroupnsMode, 'host');
    assert.equal(c.defaultIpcMode, 'shareable');
  });

  it('lets a false in the file beat a true default', async () => {
    const c = await load([], { iptables: false, icc: true, 'userland-proxy': false });
    assert.equal(c.iptables, false);
    assert.equal(c.userlandProxy, false);
  });

  it('treats null as "not set" (default kept)', async () => {
    assert.equal((await load([], { 'data-root': null })).dataRoot, '/var/lib/berth');
  });

  it('merges with flags that set other keys', async () => {
    const c = await load(['--data-root', '/flag', '-D'], { 'exec-root': '/file', dns: ['9.9.9.9'] });
    assert.equal(c.dataRoot, '/flag');
    assert.equal(c.debug, true);
    assert.equal(c.execRoot, '/file');
    assert.deepEqual(c.dns, ['9.9.9.9']);
  });

  it('reads ulimit fields case-insensitively and names them by key when Name is missing', async () => {
    const c = await load([], { 'default-ulimits': { nproc: { soft: 10, hard: 20 } } });
    assert.deepEqual(c.defaultUlimits, { nproc: { Name: 'nproc', Soft: 10, Hard: 20 } });
  });

  it('treats an empty file, or one with a BOM, as JSON', async () => {
    assert.equal((await load([], '')).dataRoot, '/var/lib/berth');
    assert.equal((await load([], ' \n')).dataRoot, '/var/lib/berth');
    assert.equal((await load([], '\uFEFF{"data-root":"/bom"}')).dataRoot, '/bom');
  });

  it('merges runtimes from --add-runtime and the file, the file winning on a clash', async () => {
    const c = await load(['--add-runtime', 'a=/flag/a', '--add-runtime', 'b=/flag/b'], { runtimes: { b: { path: '/file/b' }, c: { path: '/file/c' } } });
    assert.deepEqual(c.runtimes, { a: { path: '/flag/a' }, b: { path: '/file/b' }, c: { path: '/file/c' } });
  });

  it('lets default-runtime name a runtime added on the other side', async () => {
    assert.equal((await load(['--default-runtime', 'kata'], { runtimes: { kata: { path: '/k' } } })).defaultRuntime, 'kata');
    assert.equal((await load(['--add-runtime', 'kata=/k'], { 'default-runtime': 'kata' })).defaultRuntime, 'kata');
  });
});

describe('loadConfig: daemon.json errors', () => {
  it('reports invalid JSON', async () => {
    await fails([], '{"debug": tru}', new RegExp(`^${prefix.replace(/[/.]/g, '\\$&')}.*JSON`));
    await fails([], '{', /^unable to configure the Berth daemon with file \/etc\/berth\/daemon\.json: /);
  });

  it('wants an object at the top', async () => {
    await fails([], '[]', `${prefix}json: cannot unmarshal array into Go value of type map[string]interface {}`);
    await fails([], '"x"', `${prefix}json: cannot unmarshal string into Go value of type map[string]interface {}`);
    await fails([], 'null', `${prefix}json: cannot unmarshal null into Go value of type map[string]interface {}`);
  });

  it('names unknown keys, in file order', async () => {
    await fails([], { foo: 1, debug: true, bar: 'x' }, `${prefix}the following directives don't match any configuration option: foo, bar`);
    // Flag names that are not daemon.json keys are unknown too.
    await fails([], { label: ['a=b'] }, `${prefix}the following directives don't match any configuration option: label`);
    await fails([], { 'config-file': '/x' }, /don't match any configuration option: config-file$/);
  });

  it('reports keys given both as a flag and in the file', async () => {
    await fails(['--data-root', '/a'], { 'data-root': '/b' },
      `${prefix}the following directives are specified both as a flag and in the configuration file: data-root: (from flag: /a, from file: /b)`);
  });

  it('reports repeatable and differently-named flags under the file key', async () => {
    await fails(['--dns', '1.1.1.1', '--dns', '8.8.8.8'], { dns: ['9.9.9.9'] },
      `${prefix}the following directives are specified both as a flag and in the configuration file: dns: (from flag: [1.1.1.1 8.8.8.8], from file: [9.9.9.9])`);
    await fails(['--label', 'a=b'], { labels: ['c=d'] }, /labels: \(from flag: \[a=b\], from file: \[c=d\]\)$/);
    await fails(['-H', 'unix:///a'], { hosts: ['unix:///b'] }, /hosts: \(from flag: \[unix:\/\/\/a\], from file: \[unix:\/\/\/b\]\)$/);
    await fails(['--log-opt', 'a=b'], { 'log-opts': { c: 'd' } }, /log-opts: \(from flag: \[a=b\], from file: map\[c:d\]\)$/);
  });

  it('reports bool, int and null conflicts, all of them, in flag-name order', async () => {
    await fails(['-D', '--mtu', '1400', '--data-root', '/a'], { debug: false, mtu: 1500, 'data-root': null },
      `${prefix}the following directives are specified both as a flag and in the configuration file: ` +
      'data-root: (from flag: /a, from file: <nil>), debug: (from flag: true, from file: false), mtu: (from flag: 1400, from file: 1500)');
  });

  it('checks unknown keys before conflicts', async () => {
    await fails(['--data-root', '/a'], { 'data-root': '/b', nope: 1 }, /don't match any configuration option: nope$/);
  });

  it('names the key when a value has the wrong type', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ debug: 'true' }, 'json: cannot unmarshal string into Go struct field Config.debug of type bool'],
      [{ iptables: 1 }, 'json: cannot unmarshal number into Go struct field Config.iptables of type bool'],
      [{ 'data-root': 1 }, 'json: cannot unmarshal number into Go struct field Config.data-root of type string'],
      [{ mtu: '1500' }, 'json: cannot unmarshal string into Go struct field Config.mtu of type int'],
      [{ mtu: 1.5 }, 'json: cannot unmarshal number 1.5 into Go struct field Config.mtu of type int'],
      [{ dns: '1.1.1.1' }, 'json: cannot unmarshal string into Go struct field Config.dns of type []string'],
      [{ dns: [1] }, 'json: cannot unmarshal number into Go struct field Config.dns of type string'],
      [{ 'log-opts': { 'max-size': 10 } }, 'json: cannot unmarshal number into Go struct field Config.log-opts of type string'],
      [{ 'log-opts': ['a=b'] }, 'json: cannot unmarshal array into Go struct field Config.log-opts of type map[string]string'],
      [{ features: { buildkit: 'yes' } }, 'json: cannot unmarshal string into Go struct field Config.features of type bool'],
      [{ hosts: [true] }, 'json: cannot unmarshal bool into Go struct field Config.hosts of type string'],
      [{ 'default-address-pools': { base: '10.0.0.0/8' } }, 'json: cannot unmarshal object into Go struct field Config.default-address-pools of type []*NetworkToSplit'],
      [{ 'default-address-pools': [{ base: '10.0.0.0/8', size: '24' }] }, 'json: cannot unmarshal string into Go struct field Config.default-address-pools.size of type int'],
      [{ 'default-ulimits': { nofile: { Soft: '1' } } }, 'json: cannot unmarshal string into Go struct field Config.default-ulimits.Soft of type int'],
      [{ runtimes: { kata: { path: 5 } } }, 'json: cannot unmarshal number into Go struct field Config.runtimes.path of type string'],
      [{ runtimes: { kata: { path: '/k', runtimeArgs: '--x' } } }, 'json: cannot unmarshal string into Go struct field Config.runtimes.runtimeArgs of type []string'],
      [{ 'default-shm-size': 67108864 }, 'invalid size: "67108864"'],
      [{ 'default-shm-size': '64q' }, "invalid size: '64q'"],
    ];
    for (const [file, msg] of cases) await fails([], file, prefix + msg);
  });

  it('checks file values as the flags are checked', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ dns: ['1.2.3'] }, '1.2.3 is not an ip address'],
      [{ 'dns-search': ['-bad'] }, '-bad is not a valid domain'],
      [{ labels: ['x'] }, 'bad attribute format: x'],
      [{ hosts: ['tcp://h:notaport'] }, 'Invalid bind address format: tcp://h:notaport'],
      [{ 'registry-mirrors': ['ftp://m'] }, 'invalid mirror: unsupported scheme "ftp" in "ftp://m"'],
      [{ 'insecure-registries': ['svn://x'] }, "insecure registry svn://x should not contain '://'"],
      [{ ip: 'nope' }, 'invalid IP address: nope'],
      [{ 'default-gateway': '1.2' }, 'invalid IP address: 1.2'],
      [{ 'default-ulimits': { nofile: { Name: 'nofile', Soft: 2048, Hard: 1024 } } }, 'ulimit soft limit must be less than or equal to hard limit: 2048 > 1024'],
      [{ 'default-ulimits': { bogus: { Soft: 1, Hard: 1 } } }, 'invalid ulimit type: bogus'],
      [{ runtimes: { runc: { path: '/x' } } }, "runtime name 'runc' is reserved"],
      [{ runtimes: { kata: {} } }, "runtime 'kata' has no path"],
    ];
    for (const [file, msg] of cases) await fails([], file, prefix + msg);
  });
});

describe('loadConfig: real files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const real = async (argv: string[]): Promise<Config> => {
    const r = await loadConfig(argv, { env: {}, cgroupV2: false });
    assert.ok('config' in r);
    return r.config;
  };

  it('reads the file named by --config-file', async () => {
    const path = join(dir, 'daemon.json');
    await writeFile(path, JSON.stringify({ 'data-root': '/from/file', 'live-restore': true }));
    const c = await real(['--config-file', path]);
    assert.equal(c.configFile, path);
    assert.equal(c.dataRoot, '/from/file');
    assert.equal(c.liveRestore, true);
  });

  it('refuses a named file that does not exist', async () => {
    const path = join(dir, 'absent.json');
    await assert.rejects(real(['--config-file', path]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `unable to configure the Berth daemon with file ${path}: open ${path}: no such file or directory`);
      return true;
    });
  });

  it('refuses a directory as the config file', async () => {
    const sub = join(dir, 'sub');
    await mkdir(sub);
    await assert.rejects(real(['--config-file', sub]), { message: `unable to configure the Berth daemon with file ${sub}: read ${sub}: is a directory` });
  });

  it('reports invalid JSON in a real file, path included', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"debug": true,}');
    await assert.rejects(real(['--config-file', path]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.startsWith(`unable to configure the Berth daemon with file ${path}: `), err.message);
      return true;
    });
  });

  it('is fine without the default file', async () => {
    const c = await loadConfig([], { env: {}, readFile: missing });
    assert.ok('config' in c);
  });

  it('still fails on the default file when it exists but cannot be read', async () => {
    const denied = async (): Promise<string> => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    };
    await assert.rejects(loadConfig([], { env: {}, readFile: denied }), { message: `${prefix}open ${P}: permission denied` });
  });
});
