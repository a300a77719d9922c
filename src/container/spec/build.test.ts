import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidParameter } from '../../lib/errors.js';
import { buildSpec, commandOf, environmentOf, type SpecInput } from './build.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, grantableCapabilities, tweakCapabilities } from './caps.js';

let root: string;
before(async () => { root = await mkdtemp(join(tmpdir(), 'berth-spec-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });

const ID = 'a'.repeat(64);
function input(over: Partial<SpecInput> = {}, hc: SpecInput['hostConfig'] = {}, cfg: SpecInput['config'] = {}): SpecInput {
  return {
    id: ID,
    rootfs: root,
    config: { Hostname: 'abc', Cmd: ['sh'], ...cfg },
    hostConfig: { NetworkMode: 'none', ...hc },
    files: { hosts: '/h/hosts', hostname: '/h/hostname', resolvConf: '/h/resolv.conf' },
    cgroupsPath: `/berth/${ID}`,
    seccompHost: { arch: 'amd64', kernel: '5.10.0' },
    ...over,
  };
}

describe('command and environment', () => {
  it('merges entrypoint and cmd', () => {
    assert.deepEqual(commandOf({ Entrypoint: ['/ep', '-x'], Cmd: ['a', 'b'] }), ['/ep', '-x', 'a', 'b']);
    assert.deepEqual(commandOf({ Cmd: ['a', 'b'] }), ['a', 'b']);
    assert.deepEqual(commandOf({ Entrypoint: ['/ep'], Cmd: null }), ['/ep']);
    assert.throws(() => commandOf({}), InvalidParameter);
  });
  it('adds PATH, HOSTNAME and TERM as dockerd does', () => {
    assert.deepEqual(environmentOf({ Hostname: 'h', Env: ['A=1'] }), [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'A=1']);
    assert.deepEqual(environmentOf({ Hostname: 'h', Tty: true, Env: ['PATH=/x', 'TERM=vt100'] }), ['PATH=/x', 'HOSTNAME=h', 'TERM=vt100']);
    assert.deepEqual(environmentOf({ Hostname: 'h', Tty: true, Env: [] }).at(-1), 'TERM=xterm');
    // A bare name unsets a default.
    assert.deepEqual(environmentOf({ Hostname: 'h', Env: ['HOSTNAME', 'B=2'] }), [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'B=2']);
  });
  it('wraps the command with docker-init for --init', async () => {
    const s = await buildSpec(input({ initPath: '/usr/bin/tini' }, { Init: true }, { Entrypoint: ['/e'], Cmd: ['c'] }));
    assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', '/e', 'c']);
    const m = s.mounts.find((x) => x.destination === '/sbin/docker-init');
    assert.deepEqual(m, { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini', options: ['bind', 'ro'] });
    // Not in the host's PID namespace.
    const h = await buildSpec(input({ initPath: '/usr/bin/tini' }, { Init: true, PidMode: 'host' }));
    assert.deepEqual(h.process.args, ['sh']);
    const d = await buildSpec(input({ initPath: '/usr/bin/tini', daemonInit: true }, { Init: null }));
    assert.equal(d.process.args[0], '/sbin/docker-init');
  });
  it('sets terminal, cwd, hostname, domainname, oom score', async () => {
    const s = await buildSpec(input({}, { OomScoreAdj: 300 }, { Tty: true, WorkingDir: '/w', Domainname: 'example.org' }));
    assert.equal(s.process.terminal, true);
    assert.equal(s.process.cwd, '/w');
    assert.equal(s.hostname, 'abc');
    assert.equal(s.linux.sysctl?.['kernel.domainname'], 'example.org');
    assert.equal(s.process.oomScoreAdj, 300);
    const d = await buildSpec(input());
    assert.equal(d.process.cwd, '/');
    assert.equal(d.process.terminal, false);
    assert.equal(d.ociVersion.startsWith('1.0.2'), true);
    assert.deepEqual(d.root, { path: root, readonly: false });
    assert.equal(d.linux.cgroupsPath, `/berth/${ID}`);
  });
});

describe('capabilities', () => {
  it('tweaks the default set', () => {
    assert.deepEqual(tweakCapabilities(null, null, false), DEFAULT_CAPABILITIES);
    const c = tweakCapabilities(['net_admin', 'CAP_SYS_ADMIN'], ['chown', 'Cap_Kill'], false);
    assert.ok(c.includes('CAP_NET_ADMIN') && c.includes('CAP_SYS_ADMIN'));
    assert.ok(!c.includes('CAP_CHOWN') && !c.includes('CAP_KILL'));
    assert.deepEqual(tweakCapabilities(['ALL'], ['mknod'], false), grantableCapabilities().filter((x) => x !== 'CAP_MKNOD'));
    assert.deepEqual(tweakCapabilities(['chown'], ['all'], false), ['CAP_CHOWN']);
    assert.deepEqual(tweakCapabilities([], ['ALL'], false), []);
    assert.deepEqual(tweakCapabilities(['foo'], [], true), grantableCapabilities());
    assert.ok(grantableCapabilities().every((x) => ALL_CAPABILITIES.includes(x)));
    assert.equal(ALL_CAPABILITIES.length, 38);
  });
  it('rejects unknown capabilities', () => {
    assert.throws(() => tweakCapabilities(['foo'], [], false), (e: Error) =>
      e instanceof InvalidParameter && e.message === 'unknown capability: "CAP_FOO"');
    assert.throws(() => tweakCapabilities([], ['CAP_BPF'], false), /unknown capability: "CAP_BPF"/);
  });
  it('sets effective and permitted only for root', async () => {
    const r = await buildSpec(input({}, { CapAdd: ['NET_ADMIN'] }));
    assert.ok(r.process.capabilities!.bounding!.includes('CAP_NET_ADMIN'));
    assert.deepEqual(r.process.capabilities!.effective, r.process.capabilities!.bounding);
    assert.deepEqual(r.process.capabilities!.permitted, r.process.capabilities!.bounding);
    assert.equal(r.process.capabilities!.inheritable, undefined);
    const u = await buildSpec(input({}, {}, { User: '1000' }));
    assert.deepEqual(u.process.capabilities, { bounding: DEFAULT_CAPABILITIES });
  });
});

describe('privileged', () => {
  it('gets all caps, all devices, rw /sys and no masks or seccomp', async () => {
    const s = await buildSpec(input({}, { Privileged: true }));
    assert.deepEqual(s.process.capabilities!.bounding, grantableCapabilities());
    assert.deepEqual(s.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
    assert.ok(s.linux.devices!.some((d) => d.path === '/dev/null' && d.type === 'c' && d.major === 1 && d.minor === 3));
    assert.ok(!s.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
    assert.ok(!s.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('ro'));
    assert.equal(s.linux.maskedPaths, undefined);
    assert.equal(s.linux.readonlyPaths, undefined);
    assert.equal(s.linux.seccomp, undefined);
  });
});

describe('mounts', () => {
  it('come in dockerd order with the default shm size', async () => {
    const s = await buildSpec(input());
    assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue',
      '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts']);
    assert.deepEqual(s.mounts[6], { destination: '/dev/shm', type: 'tmpfs', source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] });
    assert.deepEqual(s.mounts[3]!.options, ['nosuid', 'noexec', 'nodev', 'ro']);
    assert.deepEqual(s.mounts[7], { destination: '/etc/resolv.conf', type: 'bind', source: '/h/resolv.conf', options: ['rbind', 'rprivate'] });
    assert.deepEqual(s.mounts[9], { destination: '/etc/hosts', type: 'bind', source: '/h/hosts', options: ['rbind', 'rprivate'] });
  });
  it('honour ShmSize, IpcMode none, read-only rootfs and user mounts', async () => {
    const s = await buildSpec(input({}, { ShmSize: 1 << 20 }));
    assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=1048576'));
    const n = await buildSpec(input({}, { IpcMode: 'none' }));
    assert.equal(n.mounts.find((m) => m.destination === '/dev/shm'), undefined);
    const ro = await buildSpec(input({}, { ReadonlyRootfs: true }));
    assert.equal(ro.root.readonly, true);
    assert.deepEqual(ro.mounts.find((m) => m.destination === '/etc/hosts')!.options, ['rbind', 'ro', 'rprivate']);
    assert.ok(!ro.mounts.find((m) => m.destination === '/dev/mqueue')!.options!.includes('ro'));
    const u = await buildSpec(input({ mounts: [{ destination: '/etc/hosts', type: 'bind', source: '/mine', options: ['rbind'] },
      { destination: '/data/x/y', type: 'bind', source: '/d', options: ['rbind'] }, { destination: '/data', type: 'bind', source: '/e', options: ['rbind'] }] }));
    assert.equal(u.mounts.filter((m) => m.destination === '/etc/hosts').length, 1);
    assert.equal(u.mounts.find((m) => m.destination === '/etc/hosts')!.source, '/mine');
    assert.deepEqual(u.mounts.slice(7).map((m) => m.destination), ['/data', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname', '/data/x/y']);
  });
});

describe('namespaces', () => {
  it('follow network, ipc, pid and uts modes', async () => {
    const types = (s: Awaited<ReturnType<typeof buildSpec>>) => s.linux.namespaces.map((n) => n.path ? `${n.type}=${n.path}` : n.type);
    assert.deepEqual(types(await buildSpec(input())), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.deepEqual(types(await buildSpec(input({ netnsPath: '/run/berth/netns/x' }, { NetworkMode: 'bridge' }))),
      ['mount', 'network=/run/berth/netns/x', 'uts', 'pid', 'ipc']);
    const h = await buildSpec(input({}, { NetworkMode: 'host', IpcMode: 'host', PidMode: 'host' }));
    assert.deepEqual(types(h), ['mount', 'uts']);
    assert.equal(h.linux.sysctl?.['net.ipv4.ping_group_range'], undefined);
    const u = await buildSpec(input({}, { UTSMode: 'host' }));
    assert.equal(u.hostname, undefined);
    assert.ok(!types(u).includes('uts'));
    await assert.rejects(buildSpec(input({}, { IpcMode: 'bogus' })), /Invalid IPC mode: bogus/);
  });
  it('sets default sysctls only for a private network, user sysctls win', async () => {
    const s = await buildSpec(input({}, { Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80', 'net.core.somaxconn': '1024' } }));
    assert.equal(s.linux.sysctl!['net.ipv4.ip_unprivileged_port_start'], '80');
    assert.equal(s.linux.sysctl!['net.core.somaxconn'], '1024');
    assert.equal(s.linux.sysctl!['net.ipv4.ping_group_range'], '0 2147483647');
  });
});

describe('devices', () => {
  it('default rules deny all, then allow the standard set', async () => {
    const s = await buildSpec(input());
    const r = s.linux.resources.devices!;
    assert.deepEqual(r[0], { allow: false, access: 'rwm' });
    const allowed = (t: string, ma?: number, mi?: number, a = 'rwm') =>
      r.some((x) => x.allow && x.type === t && x.major === ma && x.minor === mi && x.access === a);
    for (const [ma, mi] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 200]] as const) {
      assert.ok(allowed('c', ma, mi), `c ${ma}:${mi}`);
    }
    assert.ok(allowed('c', 136, undefined));
    assert.ok(allowed('c', undefined, undefined, 'm'));
    assert.ok(allowed('b', undefined, undefined, 'm'));
    assert.equal(s.linux.devices, undefined);
  });
  it('adds --device nodes with the host major/minor', async () => {
    const s = await buildSpec(input({}, { Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }],
      DeviceCgroupRules: ['c 42:* rmw'] }));
    assert.deepEqual(s.linux.devices, [{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.deepEqual(s.linux.resources.devices!.at(-2), { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
    assert.deepEqual(s.linux.resources.devices!.at(-1), { allow: true, type: 'c', major: 42, access: 'rmw' });
  });
  it('reports a missing device as dockerd does', async () => {
    await assert.rejects(buildSpec(input({}, { Devices: [{ PathOnHost: '/dev/x-berth-none', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] })),
      (e: Error) => e instanceof InvalidParameter &&
        e.message === 'error gathering device information while adding custom device "/dev/x-berth-none": no such file or directory');
    await assert.rejects(buildSpec(input({}, { DeviceCgroupRules: ['x 1:2 r'] })), /invalid device cgroup rule format: 'x 1:2 r'/);
  });
});

describe('resources and limits', () => {
  it('maps memory, cpu, pids and blkio', async () => {
    const s = await buildSpec(input({}, {
      Memory: 64 << 20, MemorySwap: 128 << 20, MemoryReservation: 32 << 20, MemorySwappiness: 10, KernelMemory: 8 << 20,
      OomKillDisable: true, CpuShares: 512, CpusetCpus: '0-1', CpusetMems: '0', BlkioWeight: 300, PidsLimit: 100,
    }));
    assert.deepEqual(s.linux.resources.memory, { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10,
      disableOOMKiller: true, kernel: 8 << 20 });
    assert.deepEqual(s.linux.resources.cpu, { shares: 512, cpus: '0-1', mems: '0' });
    assert.deepEqual(s.linux.resources.pids, { limit: 100 });
    assert.deepEqual(s.linux.resources.blockIO, { weight: 300 });
  });
  it('turns NanoCpus into quota over a 100ms period; explicit values win', async () => {
    const s = await buildSpec(input({}, { NanoCpus: 1_500_000_000 }));
    assert.equal(s.linux.resources.cpu!.period, 100000);
    assert.equal(s.linux.resources.cpu!.quota, 150000);
    const t = await buildSpec(input({}, { NanoCpus: 500_000_000, CpuPeriod: 50000, CpuQuota: 20000 }));
    assert.equal(t.linux.resources.cpu!.period, 50000);
    assert.equal(t.linux.resources.cpu!.quota, 20000);
    const p = await buildSpec(input({}, { PidsLimit: 0 }));
    assert.deepEqual(p.linux.resources.pids, { limit: -1 });
    const none = await buildSpec(input());
    assert.equal(none.linux.resources.pids, undefined);
    assert.deepEqual(none.linux.resources.memory, {});
    await assert.rejects(buildSpec(input({}, { CpuShares: -1 })), /shares: invalid argument/);
  });
  it('merges ulimits with the daemon defaults', async () => {
    const s = await buildSpec(input({ defaultUlimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }, { Name: 'nproc', Soft: 10, Hard: 20 }] },
      { Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }] }));
    assert.deepEqual(s.process.rlimits, [
      { type: 'RLIMIT_NOFILE', hard: 200, soft: 100 }, { type: 'RLIMIT_NPROC', hard: 20, soft: 10 }]);
  });
});

describe('masked paths and security options', () => {
  it('masks dockerd defaults, or the HostConfig lists', async () => {
    const s = await buildSpec(input());
    assert.ok(s.linux.maskedPaths!.includes('/proc/kcore') && s.linux.maskedPaths!.includes('/sys/firmware'));
    assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    const c = await buildSpec(input({}, { MaskedPaths: ['/proc/x'], ReadonlyPaths: [] }));
    assert.deepEqual(c.linux.maskedPaths, ['/proc/x']);
    assert.deepEqual(c.linux.readonlyPaths, []);
  });
  it('applies no-new-privileges and seccomp choices', async () => {
    const s = await buildSpec(input({}, { SecurityOpt: ['no-new-privileges'] }));
    assert.equal(s.process.noNewPrivileges, true);
    assert.equal(s.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal((await buildSpec(input({}, { SecurityOpt: ['no-new-privileges=false'] }))).process.noNewPrivileges, undefined);
    assert.equal((await buildSpec(input({}, { SecurityOpt: ['seccomp=unconfined'] }))).linux.seccomp, undefined);
    assert.equal((await buildSpec(input({}, { SecurityOpt: ['seccomp:unconfined'] }))).linux.seccomp, undefined);
    const custom = await buildSpec(input({}, { SecurityOpt: [
      `seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'chmod', action: 'SCMP_ACT_ERRNO', args: [] }] })}`] }));
    assert.deepEqual(custom.linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO' }] });
    await assert.rejects(buildSpec(input({}, { SecurityOpt: ['foo=bar'] })), /invalid --security-opt 2: "foo=bar"/);
  });
});
