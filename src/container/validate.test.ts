import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { InvalidParameter } from '../lib/errors.js';
import type { HostConfig } from '../types/container.js';
import { hostFacts, parseUintList, verifyContainerSettings, type HostFacts } from './validate.js';

const host = hostFacts();
const all: HostFacts = {
  ...host, memoryLimit: true, swapLimit: true, memoryReservation: true, kernelMemory: true, swappiness: true,
  oomKillDisable: true, cpuShares: true, cpuCfs: true, cpuRealtime: true, cpuset: true, blkioWeight: true,
  blkioWeightDevice: true, blkioThrottle: true, pidsLimit: true, cgroupNamespaces: true,
};
const none: HostFacts = {
  ...all, memoryLimit: false, swapLimit: false, memoryReservation: false, kernelMemory: false, swappiness: false,
  oomKillDisable: false, cpuShares: false, cpuCfs: false, cpuRealtime: false, cpuset: false, blkioWeight: false,
  blkioWeightDevice: false, blkioThrottle: false, pidsLimit: false,
};

function rejects(hc: HostConfig, msg: string, config: object = {}, facts = all): void {
  assert.throws(() => verifyContainerSettings(hc, config, facts), (err: unknown) => {
    assert.ok(err instanceof InvalidParameter, `InvalidParameter for ${JSON.stringify(hc)}`);
    assert.equal((err as Error).message, msg);
    return true;
  });
}
const MB = 1024 * 1024;

test('hostFacts reads this host: cpus, online lists and the cgroup controllers', () => {
  assert.equal(host.ncpu, cpus().length);
  assert.equal(host.cpus, readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
  assert.equal(host.mems, readFileSync('/sys/devices/system/node/online', 'utf8').trim());
  assert.equal(host.memoryLimit, true);
  assert.equal(host.cpuCfs, true);
  assert.equal(host.pidsLimit, true);
  assert.ok(host.cgroupVersion === 1 || host.cgroupVersion === 2);
});

test('memory limits as dockerd checks them', () => {
  rejects({ Memory: 4 * MB }, 'Minimum memory limit allowed is 6MB');
  rejects({ Memory: 10 * MB, MemorySwap: 8 * MB }, 'Minimum memoryswap limit should be larger than memory limit, see usage');
  rejects({ MemorySwap: 8 * MB }, 'You should always set the Memory limit when using Memoryswap limit, see usage');
  assert.deepEqual(verifyContainerSettings({ MemorySwap: 8 * MB }, {}, all, true), [], 'update may set swap alone');
  rejects({ MemorySwappiness: 101 }, 'Invalid value: 101, valid memory swappiness range is 0-100');
  rejects({ MemorySwappiness: -2 }, 'Invalid value: -2, valid memory swappiness range is 0-100');
  assert.deepEqual(verifyContainerSettings({ MemorySwappiness: -1 }, {}, all), []);
  rejects({ MemoryReservation: 1 * MB }, 'Minimum memory reservation allowed is 6MB');
  rejects({ Memory: 10 * MB, MemoryReservation: 20 * MB }, 'Minimum memory limit can not be less than memory reservation limit, see usage');
  rejects({ KernelMemory: 5 * MB }, 'Minimum kernel memory limit allowed is 6MB');
  assert.deepEqual(verifyContainerSettings({ KernelMemory: 50 * MB }, {}, all), []);
  assert.deepEqual(verifyContainerSettings({ KernelMemory: 5 * MB }, {}, none).slice(-1),
    ['Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.']);
  assert.deepEqual(verifyContainerSettings({ OomKillDisable: true }, {}, all),
    ['OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.']);
  assert.deepEqual(verifyContainerSettings({ OomKillDisable: true, Memory: 10 * MB }, {}, all), []);
});

test('an unsupported feature is a warning and its value is dropped', () => {
  const hc: HostConfig = { Memory: 10 * MB, MemorySwap: 20 * MB, MemorySwappiness: 10, KernelMemory: 10 * MB,
    CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, CpusetCpus: '0', BlkioWeight: 300, PidsLimit: 10,
    OomKillDisable: true, MemoryReservation: 8 * MB };
  const w = verifyContainerSettings(hc, {}, none);
  assert.ok(w.includes('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.'));
  assert.ok(w.includes('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.'));
  assert.ok(w.includes('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.'));
  assert.ok(w.includes('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.'));
  assert.ok(w.includes('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.'));
  assert.ok(w.includes('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.'));
  assert.ok(w.includes('Your kernel does not support OomKillDisable. OomKillDisable discarded.'));
  assert.equal(hc.Memory, 0);
  assert.equal(hc.MemorySwap, -1);
  assert.equal(hc.MemorySwappiness, null);
  assert.equal(hc.CpuQuota, 0);
  assert.equal(hc.CpusetCpus, '');
  assert.equal(hc.BlkioWeight, 0);
  assert.equal(hc.PidsLimit, null);
  assert.equal(hc.KernelMemory, 0);

  const swapOnly = { ...all, swapLimit: false };
  const hc2: HostConfig = { Memory: 10 * MB, MemorySwap: 20 * MB };
  assert.deepEqual(verifyContainerSettings(hc2, {}, swapOnly),
    ['Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.']);
  assert.equal(hc2.MemorySwap, -1);
});

test('cpu: shares clamped with a warning, period/quota ranges, nano cpus', () => {
  const lo: HostConfig = { CpuShares: 1 };
  assert.deepEqual(verifyContainerSettings(lo, {}, all), ['Changing requested CPUShares of 1 to minimum allowed of 2']);
  assert.equal(lo.CpuShares, 2);
  const hi: HostConfig = { CpuShares: 300000 };
  assert.deepEqual(verifyContainerSettings(hi, {}, all), ['Changing requested CPUShares of 300000 to maximum allowed of 262144']);
  assert.equal(hi.CpuShares, 262144);
  rejects({ CpuPeriod: 999 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  rejects({ CpuPeriod: 1000001 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  rejects({ CpuQuota: 999 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  assert.deepEqual(verifyContainerSettings({ CpuQuota: -1, CpuPeriod: 100000 }, {}, all), []);
  rejects({ NanoCpus: 1e9, CpuPeriod: 100000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  rejects({ NanoCpus: 1e9, CpuQuota: 100000 }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  const n = host.ncpu;
  rejects({ NanoCpus: (n + 1) * 1e9 }, `Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
  assert.deepEqual(verifyContainerSettings({ NanoCpus: n * 1e9 }, {}, all), []);
  rejects({ CpuRealtimePeriod: 1000, CpuRealtimeRuntime: 2000 }, 'cpu real-time runtime cannot be higher than cpu real-time period');
  rejects({ CpuRealtimeRuntime: 2000 }, 'Your kernel does not support cgroup cpu real-time runtime', {}, none);
});

test('cpuset cpus and mems must parse and exist on this host', () => {
  assert.deepEqual(parseUintList('0-2,4'), new Set([0, 1, 2, 4]));
  rejects({ CpusetCpus: 'a' }, 'Invalid value a for cpuset cpus: invalid format: a');
  rejects({ CpusetMems: '1-' }, 'Invalid value 1- for cpuset mems: invalid format: 1-');
  rejects({ CpusetCpus: '0,77' }, `Requested CPUs are not available - requested 0,77, available: ${host.cpus}`);
  rejects({ CpusetMems: '9' }, `Requested memory nodes are not available - requested 9, available: ${host.mems}`);
  assert.deepEqual(verifyContainerSettings({ CpusetCpus: host.cpus, CpusetMems: host.mems }, {}, all), []);
});

test('blkio weight and devices', () => {
  rejects({ BlkioWeight: 5 }, 'Range of blkio weight is from 10 to 1000');
  rejects({ BlkioWeight: 1001 }, 'Range of blkio weight is from 10 to 1000');
  assert.deepEqual(verifyContainerSettings({ BlkioWeight: 10 }, {}, all), []);
  rejects({ BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 5 }] }, 'invalid weight for device: /dev/sda:5');
  rejects({ BlkioDeviceReadBps: [{ Path: 'sda', Rate: 5 }] }, 'invalid device path: sda');
  assert.deepEqual(verifyContainerSettings({ BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 5 }] }, {}, none),
    ['Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.']);
});

test('restart policy, AutoRemove, ports', () => {
  rejects({ RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }, "maximum retry count cannot be used with restart policy 'always'");
  rejects({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, 'maximum retry count cannot be negative');
  rejects({ RestartPolicy: { Name: 'sometimes', MaximumRetryCount: 0 } }, "invalid restart policy 'sometimes'");
  rejects({ AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }, "can't create 'AutoRemove' container with restart policy");
  assert.deepEqual(verifyContainerSettings({ AutoRemove: true, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }, {}, all), []);
  rejects({ PortBindings: { 'abc/tcp': [] } }, 'invalid port specification: "abc"');
  rejects({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '99999' }] } }, 'invalid port specification: "99999"');
  rejects({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '90-80' }] } }, 'invalid port specification: "90-80"');
  rejects({ PortBindings: { '80/xyz': [] } }, 'Invalid proto: xyz');
  rejects({}, 'invalid port specification: "x"', { ExposedPorts: { 'x/udp': {} } });
  assert.deepEqual(verifyContainerSettings({ PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8000-8010' }] } },
    { ExposedPorts: { '80/tcp': {}, '53/udp': {} } }, all), []);
  assert.deepEqual(verifyContainerSettings({ NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '80' }] } }, {}, all),
    ['Published ports are discarded when using host network mode']);
});

test('config: workdir, healthcheck, env, stop signal', () => {
  rejects({}, "the working directory 'x' is invalid, it needs to be an absolute path", { WorkingDir: 'x' });
  rejects({}, 'Interval in Healthcheck cannot be less than 1ms', { Healthcheck: { Interval: 1000 } });
  rejects({}, 'Timeout in Healthcheck cannot be less than 1ms', { Healthcheck: { Timeout: 999_999 } });
  rejects({}, 'StartPeriod in Healthcheck cannot be less than 1ms', { Healthcheck: { StartPeriod: 1 } });
  rejects({}, 'Retries in Healthcheck cannot be negative', { Healthcheck: { Retries: -1 } });
  rejects({}, 'invalid environment variable: =foo', { Env: ['=foo'] });
  rejects({}, 'Invalid signal: SIGNOPE', { StopSignal: 'SIGNOPE' });
  assert.deepEqual(verifyContainerSettings({}, { WorkingDir: '/srv', Healthcheck: { Interval: 1_000_000 }, StopSignal: 'SIGUSR1' }, all), []);
});

test('sysctls, namespaces modes, ulimits, security-opt, oom score, shm', () => {
  rejects({ Sysctls: { 'vm.swappiness': '1' } }, "sysctl 'vm.swappiness' is not whitelisted");
  rejects({ NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } }, "sysctl 'net.ipv4.ip_forward' is not allowed in host network namespace");
  assert.deepEqual(verifyContainerSettings({ Sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'kernel.sem': '1 2 3 4', 'fs.mqueue.msg_max': '10' } }, {}, all), []);
  rejects({ IpcMode: 'bogus' }, 'invalid IPC mode: bogus');
  rejects({ PidMode: 'container:' }, 'invalid PID mode: container:');
  rejects({ UTSMode: 'private' }, 'invalid UTS mode: private');
  rejects({ CgroupnsMode: 'x' }, 'invalid cgroup namespace mode: x');
  assert.deepEqual(verifyContainerSettings({ IpcMode: 'shareable', PidMode: 'container:abc', UTSMode: 'host', CgroupnsMode: 'private' }, {}, all), []);
  rejects({ Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] }, 'ulimit soft limit must be less than or equal to hard limit: 10 > 5');
  rejects({ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, 'invalid ulimit type: bogus');
  assert.throws(() => verifyContainerSettings({ SecurityOpt: ['bogus=1'] }, {}, all), InvalidParameter);
  assert.deepEqual(verifyContainerSettings({ SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] }, {}, all), []);
  rejects({ OomScoreAdj: 1001 }, 'Invalid value 1001, range for oom score adj is [-1000, 1000]');
  rejects({ ShmSize: -1 }, 'SHM size can not be less than 0');
  rejects({ ExtraHosts: ['nohost'] }, 'bad format for add-host: "nohost"');
  rejects({ Tmpfs: { run: '' } }, 'invalid mount path: \'run\' mount path must be absolute');
  rejects({ Tmpfs: { '/': '' } }, 'invalid specification: destination can\'t be \'/\'');
});
