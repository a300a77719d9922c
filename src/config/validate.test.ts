import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../lib/errors.js';
import { loadConfig, type Config } from './index.js';

const missing = async (): Promise<string> => {
  throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
};

async function load(argv: string[], file?: Record<string, unknown>): Promise<Config> {
  const readFile = file === undefined ? missing : async () => JSON.stringify(file);
  const r = await loadConfig(argv, { readFile, env: {}, cgroupV2: true });
  assert.ok('config' in r);
  return r.config;
}

async function fails(argv: string[], expected: string | RegExp, file?: Record<string, unknown>): Promise<void> {
  await assert.rejects(load(argv, file), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    if (typeof expected === 'string') assert.equal(err.message, expected);
    else assert.match(err.message, expected);
    return true;
  });
}

const tcpWarning = 'Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.';

describe('validation: bridge and iptables', () => {
  it('refuses -b with --bip, from flags or the file', async () => {
    const msg = 'You specified -b & --bip, mutually exclusive options. Please specify only one';
    await fails(['-b', 'br0', '--bip', '172.18.0.1/16'], msg);
    await fails(['-b', 'br0'], msg, { bip: '172.18.0.1/16' });
    await fails([], msg, { bridge: 'br0', bip: '172.18.0.1/16' });
  });

  it('refuses --ip6tables without --experimental, as dockerd 20.10', async () => {
    const msg = 'ip6tables rules are only available if experimental features are enabled';
    await fails(['--ip6tables'], msg);
    await fails([], msg, { ip6tables: true });
    assert.equal((await load(['--ip6tables', '--experimental'])).ip6tables, true);
  });

  it('refuses --icc=false with --iptables=false', async () => {
    const msg = 'You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true.';
    await fails(['--icc=false', '--iptables=false'], msg);
    await fails([], msg, { icc: false, iptables: false });
    assert.equal((await load(['--icc=false'])).icc, false);
  });

  it('turns ip-masq off quietly without iptables', async () => {
    const c = await load(['--iptables=false']);
    assert.equal(c.ipMasq, false);
    assert.deepEqual(c.warnings, []);
    assert.equal((await load(['--iptables=false', '--ip-masq=true'])).ipMasq, false);
    assert.equal((await load([])).ipMasq, true);
  });

  it('wants --bip as the bridge\'s IPv4 host address with a prefix', async () => {
    assert.equal((await load(['--bip', '172.18.0.1/16'])).bip, '172.18.0.1/16');
    assert.equal((await load(['--bip', '10.0.0.255/8'])).bip, '10.0.0.255/8');
    assert.equal((await load(['--bip', '10.0.0.0/31'])).bip, '10.0.0.0/31');
    await fails(['--bip', '172.18.0.1'], 'bip: invalid CIDR address: 172.18.0.1');
    await fails(['--bip', 'x/16'], 'bip: invalid CIDR address: x/16');
    await fails(['--bip', '172.18.0.0/16'], /^bip: 172\.18\.0\.0\/16 is not a host address/);
    await fails(['--bip', '172.18.255.255/16'], /is not a host address/);
    await fails(['--bip', '2001:db8::1/64'], 'bip: 2001:db8::1/64 is not an IPv4 subnet');
  });

  it('wants CIDRs of the right family for fixed-cidr and fixed-cidr-v6', async () => {
    await fails(['--fixed-cidr', '10.0.0.0'], 'fixed-cidr: invalid CIDR address: 10.0.0.0');
    await fails([], 'fixed-cidr: fd00::/64 is not an IPv4 subnet', { 'fixed-cidr': 'fd00::/64' });
    await fails(['--fixed-cidr-v6', '10.0.0.0/8'], 'fixed-cidr-v6: 10.0.0.0/8 is not an IPv6 subnet');
    await fails(['--fixed-cidr-v6', 'fd00::'], 'fixed-cidr-v6: invalid CIDR address: fd00::');
  });

  it('checks default address pools', async () => {
    await fails(['--default-address-pool', 'base=10.0.0.0,size=24'], 'invalid base pool "10.0.0.0": invalid CIDR address: 10.0.0.0');
    await fails(['--default-address-pool', 'size=24'], 'invalid base pool "": invalid CIDR address: ');
    await fails(['--default-address-pool', 'base=10.0.0.0/16,size=8'], 'invalid pools size: 8');
    await fails(['--default-address-pool', 'base=10.0.0.0/16'], 'invalid pools size: 0');
    await fails(['--default-address-pool', 'base=10.0.0.0/16,size=33'], 'invalid pools size: 33');
    await fails([], 'invalid pools size: 12', { 'default-address-pools': [{ base: '10.0.0.0/16', size: 12 }] });
    assert.deepEqual((await load(['--default-address-pool', 'base=fd00::/48,size=64'])).defaultAddressPools, [{ base: 'fd00::/48', size: 64 }]);
  });

  it('wants an MTU of 0 or more', async () => {
    await fails(['--mtu', '-1'], 'invalid default MTU: -1');
    await fails([], 'invalid default MTU: -5', { mtu: -5 });
  });
});

describe('validation: numbers', () => {
  it('refuses negative concurrency and non-positive download attempts', async () => {
    await fails(['--max-concurrent-downloads', '-1'], 'invalid max concurrent downloads: -1');
    await fails([], 'invalid max concurrent uploads: -2', { 'max-concurrent-uploads': -2 });
    await fails(['--max-download-attempts', '0'], 'invalid max download attempts: 0');
  });

  it('allows -1 as shutdown timeout and nothing lower', async () => {
    assert.equal((await load([], { 'shutdown-timeout': -1 })).shutdownTimeout, -1);
    assert.equal((await load(['--shutdown-timeout', '0'])).shutdownTimeout, 0);
    await fails(['--shutdown-timeout', '-2'], /^invalid shutdown timeout: -2/);
  });

  it('keeps oom-score-adjust within the kernel\'s range', async () => {
    assert.equal((await load(['--oom-score-adjust', '1000'])).oomScoreAdjust, 1000);
    await fails(['--oom-score-adjust', '1001'], /^invalid oom-score-adjust: 1001/);
    await fails([], /^invalid oom-score-adjust: -1001/, { 'oom-score-adjust': -1001 });
  });
});

describe('validation: logging', () => {
  it('reads log levels case-insensitively, warning as warn', async () => {
    for (const l of ['debug', 'info', 'warn', 'error', 'fatal'] as const) assert.equal((await load(['-l', l])).logLevel, l);
    assert.equal((await load(['--log-level', 'WARNING'])).logLevel, 'warn');
    assert.equal((await load([], { 'log-level': 'Error' })).logLevel, 'error');
  });

  it('refuses unknown log levels', async () => {
    await fails(['--log-level', 'foo'], 'unable to parse logging level: foo');
    await fails([], 'unable to parse logging level: loud', { 'log-level': 'loud' });
  });

  it('makes the level debug under -D', async () => {
    const c = await load(['-D', '-l', 'error']);
    assert.equal(c.debug, true);
    assert.equal(c.logLevel, 'debug');
  });

  it('wants log-format text or json', async () => {
    await fails(['--log-format', 'xml'], /^unknown log format: xml/);
  });
});

describe('validation: runtimes', () => {
  it('knows runc and crun without --add-runtime', async () => {
    assert.equal((await load(['--default-runtime', 'runc'])).defaultRuntime, 'runc');
    assert.equal((await load([], { 'default-runtime': 'crun' })).defaultRuntime, 'crun');
  });

  it('refuses a default runtime nobody added', async () => {
    await fails(['--default-runtime', 'kata'], "specified default runtime 'kata' does not exist");
    await fails([], "specified default runtime 'youki' does not exist", { 'default-runtime': 'youki', runtimes: { kata: { path: '/k' } } });
  });

  it('accepts an added runtime as default', async () => {
    assert.equal((await load(['--add-runtime', 'kata=/k', '--default-runtime', 'kata'])).defaultRuntime, 'kata');
  });
});

describe('validation: labels', () => {
  it('drops duplicates and refuses one key with two values', async () => {
    assert.deepEqual((await load(['--label', 'a=1', '--label', 'b=2', '--label', 'a=1'])).labels, ['a=1', 'b=2']);
    await fails(['--label', 'a=1', '--label', 'a=2'], 'conflict labels for a=2 and a=1');
    await fails([], 'conflict labels for k=y and k=x', { labels: ['k=x', 'k=y'] });
  });
});

describe('validation: hosts and TLS', () => {
  it('normalises hosts to full URLs, with the TLS port when TLS is on', async () => {
    assert.deepEqual((await load(['-H', 'tcp://127.0.0.1', '-H', ':4243', '-H', 'unix://'])).hosts, [
      'tcp://127.0.0.1:2375', 'tcp://0.0.0.0:4243', 'unix:///run/berth/berth.sock',
    ]);
    assert.deepEqual((await load(['--tls', '-H', 'tcp://127.0.0.1'])).hosts, ['tcp://127.0.0.1:2376']);
    assert.deepEqual((await load(['-H', 'tcp://127.0.0.1'], { tlsverify: true })).hosts, ['tcp://127.0.0.1:2376']);
  });

  it('turns TLS on whenever tlsverify is given, even as false, as dockerd does', async () => {
    let c = await load(['--tlsverify']);
    assert.deepEqual([c.tls.tls, c.tls.tlsVerify], [true, true]);
    c = await load(['--tlsverify=false']);
    assert.deepEqual([c.tls.tls, c.tls.tlsVerify], [true, false]);
    c = await load([], { tlsverify: false });
    assert.deepEqual([c.tls.tls, c.tls.tlsVerify], [true, false]);
    c = await load([], { tls: false, tlsverify: true });
    assert.equal(c.tls.tls, true);
  });

  it('warns about tcp without --tlsverify, and only then', async () => {
    assert.deepEqual((await load(['-H', 'tcp://127.0.0.1:2375'])).warnings, [tcpWarning]);
    assert.deepEqual((await load(['--tls', '-H', 'tcp://127.0.0.1'])).warnings, [tcpWarning]);
    assert.deepEqual((await load(['--tlsverify', '-H', 'tcp://127.0.0.1'])).warnings, []);
    assert.deepEqual((await load(['-H', 'unix:///x.sock'])).warnings, []);
  });

  it('refuses fd:// from the file too', async () => {
    await fails([], /not supported by berthd/, { hosts: ['fd://'] });
  });
});

describe('validation: cgroups, exec-opts and other modes', () => {
  it('wants exec-opts as key=value and a known cgroup driver', async () => {
    await fails(['--exec-opt', 'native.cgroupdriver'], 'Unable to parse key/value option: native.cgroupdriver');
    await fails(['--exec-opt', 'native.cgroupdriver=foo'], 'native.cgroupdriver option foo not supported');
    await fails(['--exec-opt', 'native.cgroupdriver=none'], 'native.cgroupdriver option none is internally used and cannot be specified manually');
    assert.deepEqual((await load(['--exec-opt', 'Native.CgroupDriver = systemd'])).execOpts, ['Native.CgroupDriver = systemd']);
  });

  it('wants a .slice cgroup parent with the systemd driver', async () => {
    const msg = 'cgroup-parent for systemd cgroup should be a valid slice named as "xxx.slice"';
    await fails(['--exec-opt', 'native.cgroupdriver=systemd', '--cgroup-parent', 'berth'], msg);
    await fails(['--exec-opt', 'native.cgroupdriver=systemd', '--cgroup-parent', '.slice'], msg);
    assert.equal((await load(['--exec-opt', 'native.cgroupdriver=systemd', '--cgroup-parent', 'berth.slice'])).cgroupParent, 'berth.slice');
    assert.equal((await load(['--cgroup-parent', 'berth'])).cgroupParent, 'berth');
  });

  it('wants a default IPC mode of private or shareable', async () => {
    await fails(['--default-ipc-mode', 'host'], 'IPC mode "host" is not supported as default value. Use "shareable" or "private".');
    await fails([], 'Default IPC mode setting (weird) is invalid. Use "shareable" or "private".', { 'default-ipc-mode': 'weird' });
  });

  it('wants a default cgroupns mode of host or private', async () => {
    await fails(['--default-cgroupns-mode', 'shared'], 'Default cgroup namespace mode (shared) is invalid. Use "host" or "private".');
  });

  it('wants metrics-addr as host:port', async () => {
    assert.equal((await load(['--metrics-addr', '0.0.0.0:9323'])).metricsAddr, '0.0.0.0:9323');
    assert.equal((await load(['--metrics-addr', '[::1]:9323'])).metricsAddr, '[::1]:9323');
    await fails(['--metrics-addr', 'localhost'], 'invalid metrics-addr: address localhost: missing port in address');
    await fails(['--metrics-addr', 'localhost:http'], /^invalid metrics-addr: address localhost:http/);
  });
});
